"""What the benchmark scripts share: a free port, waiting for a server, process stats,
wrk runs, and sampling a process's peak memory."""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, attempts: int = 600) -> None:
    for _ in range(attempts):
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    return int(proc_status(pid).get(field, "0 kB").split()[0])


@dataclass
class Load:
    requests: int
    rate: float  # requests per second
    p50: float  # milliseconds
    p99: float
    errors: int  # socket errors and timeouts
    non_2xx: int


def wrk(
    url: str,
    seconds: float,
    connections: int = 32,
    threads: int = 1,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
) -> Load:
    """One wrk run from this (second) process: rate, latency percentiles, every error."""
    sent = [part for name, value in (headers or {}).items() for part in ("-H", f"{name}: {value}")]
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "10s",
               "--latency", *sent, *(["-s", str(script)] if script else []), url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def milliseconds(percent: str) -> float:
        value, unit = re.search(rf"\s{percent}%\s+([0-9.]+)(us|ms|s)\b", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    found = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return Load(
        requests=int(found.group(1)) if found else 0,
        rate=float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),  # type: ignore[union-attr]
        p50=milliseconds("50"),
        p99=milliseconds("99"),
        errors=sum(map(int, errors.groups())) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


class PeakRss:
    """The highest RSS (KiB) of a process while the `with` block runs, sampled every 10 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except (OSError, ValueError):
                return
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
