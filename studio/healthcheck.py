"""The image's HEALTHCHECK command: exit 0 when the studio in this container answers /healthz with 200.

    python -m studio.healthcheck

It asks 127.0.0.1 on $PORT (default 8000), past any HTTP proxy the environment names, and
imports nothing of Django, so a probe costs a fraction of a second.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 8


def probe(port: str) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{port}/healthz"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through http_proxy
    try:
        with opener.open(url, timeout=TIMEOUT_SECONDS) as response:
            return response.status == 200, f"{url}: {response.status}"
    except urllib.error.HTTPError as error:
        return False, f"{url}: {error.code}"
    except OSError as error:
        return False, f"{url}: {error}"


def main() -> int:
    healthy, said = probe(os.environ.get("PORT", "8000"))
    print(said)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
