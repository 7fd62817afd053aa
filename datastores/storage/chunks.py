"""Regrouping streamed bytes into the blocks a service takes per request."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def blocks_of(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup an iterable of byte chunks into blocks of `size` bytes (the last one shorter).

    Each byte is copied once, by the join (a chunk that is exactly one block is passed on as it is):
    a multi-gigabyte upload runs through here, and every copy costs CPU and fresh memory."""
    parts: list[memoryview] = []
    held = 0
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            take = min(size - held, len(view))
            parts.append(view[:take])
            held += take
            view = view[take:]
            if held == size:
                whole = len(parts) == 1 and parts[0].nbytes == len(chunk) and isinstance(chunk, bytes)
                yield chunk if whole else b"".join(parts)
                parts, held = [], 0
    if held:
        yield b"".join(parts)
