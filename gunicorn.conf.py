"""gunicorn's configuration for Datastore Studio: the image, `python -m studio.start` and bench/ use it.

Workers suit long streams. A file upload or download holds one thread of a worker for its
whole length, so the workers are threaded (gthread): `timeout` is then a heartbeat of the
worker process, not a limit on one request, and a 4 GiB transfer that takes an hour is never
killed for its length. (An ASGI server would spool every upload body to disk before the view
sees it, which the studio never does.)

Every value can be set from the environment; the defaults are documented in .env.example and
the README's "Sizing workers".
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {value!r}") from None
    if number < 0:
        raise SystemExit(f"{name} must not be negative")
    return number


wsgi_app = "studio.wsgi:application"
chdir = os.path.dirname(os.path.abspath(__file__))  # the project root, wherever gunicorn starts
bind = [f"0.0.0.0:{_int('PORT', 8000)}"]

worker_class = "gthread"
# Processes: each runs Python on at most one CPU at a time. Threads: requests served at once per
# process; a transfer holds one for its whole length, and waits on the network most of the time.
workers = _int("GUNICORN_WORKERS", 2)
threads = _int("GUNICORN_THREADS", 8)

# A worker that sends no heartbeat for this long is restarted. With gthread the heartbeat comes
# from the worker's own loop, so it does not depend on how long any request takes.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (docker stop, a rolling update) workers stop accepting connections and running
# requests get this long to finish; what still runs then is cut. Give the container's stop
# timeout a few seconds more (compose.yaml: stop_grace_period).
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 120)
# Idle kept-alive connections wait in the worker's poller, not in a thread.
keepalive = _int("GUNICORN_KEEPALIVE", 5)

# The heartbeat file on a RAM disk where there is one (a container's /tmp may be an overlay).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# No runtime control socket (gunicornc): nothing here needs one, and its default path under $HOME
# is shared by every gunicorn of a user.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
# Path without the query string: the sign-in callback's query carries an authorization code.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
