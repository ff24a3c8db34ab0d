"""What the benchmark scripts share: a free port, waiting for a server, process stats."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, attempts: int = 300) -> None:
    for _ in range(attempts):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} never answered")


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    return int(proc_status(pid).get(field, "0 kB").split()[0])
