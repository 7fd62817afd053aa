"""A TCP proxy in front of a real server (Azurite) that breaks connections on purpose.

It forwards bytes both ways unchanged, and cuts a connection once it has passed `cut_after`
bytes from the server to the client, `cuts` times (every time with cuts=None): what a download
sees when the network drops midway. Connections that never pass that many bytes are left alone.
With cut_after=HEADERS_END it cuts right after the first response's headers, before any body.
With hold=True it stalls the connection there instead, until `release()`: a transfer caught
midway, for as long as a test needs.
"""

from __future__ import annotations

import socket
import threading

HEADERS_END = -1


class BreakingProxy:
    def __init__(self, upstream_port: int, *, cut_after: int, cuts: int | None = 1, hold: bool = False):
        self.upstream_port = upstream_port
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.cut_count = 0
        self.hold = hold
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def close(self) -> None:
        self.release()
        self._listener.close()

    def release(self) -> None:
        """Let the held connections go on."""
        self._released.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _cut_now(self) -> bool:
        with self._lock:
            if self.cuts_left == 0:
                return False
            if self.cuts_left is not None:
                self.cuts_left -= 1
            self.cut_count += 1
            return True

    def _cut_in(self, data: bytes, passed: int) -> int | None:
        """Where in `data`, which follows `passed` bytes, the cut falls; None if not in it."""
        if self.cut_after == HEADERS_END:
            end = data.find(b"\r\n\r\n")  # a response's headers come in one piece, here
            return end + 4 if end >= 0 else None
        return self.cut_after - passed if passed + len(data) >= self.cut_after else None

    def _pump(self, source: socket.socket, sink: socket.socket, may_cut: bool) -> None:
        passed = 0
        try:
            while data := source.recv(65536):
                cut = self._cut_in(data, passed) if may_cut else None
                if cut is not None:
                    if self._cut_now():
                        sink.sendall(data[:cut])
                        if not self.hold:
                            break
                        self._released.wait()
                        data = data[cut:]
                    may_cut = False
                sink.sendall(data)
                passed += len(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()
