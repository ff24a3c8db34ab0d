"""Processes the tests start, and proof that none outlives the session.

Long-running processes (servers, proxies) are started with `spawn`: in a session, and so
a process group, of their own, which their own children (sqlapi's workers) share.
`stop` ends them with SIGTERM, then SIGKILL to the whole group, and returns once the group
is empty. `left_behind` (conftest runs it when the session ends) lists every process the
session started that is still alive, read from /proc: descendants of this process,
members of the sessions `spawn` created, and orphans that joined this process's own group
after the session began (what is left of children that had no session of their own).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import wait_for

PROC = Path("/proc")
SESSIONS: set[int] = set()  # the session ids (the pids) of the processes `spawn` started
# Whether the running test is marked slow (conftest says; None outside tests): a test
# that starts a process must be, so that `pytest -m "not slow"` stays fast.
running_a_slow_test: bool | None = None


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/<pid>/stat that tell who a process is and whose it is."""

    pid: int
    ppid: int
    pgrp: int
    session: int
    state: str
    start: int  # clock ticks after boot: with the pid, names a process once

    @property
    def alive(self) -> bool:
        return self.state not in "ZXx"  # a zombie has ended; only its exit status is left


def stat(pid: int) -> Stat | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # the name, in parentheses, may hold spaces
    return Stat(pid, int(fields[1]), int(fields[2]), int(fields[3]), fields[0], int(fields[19]))


def processes() -> dict[int, Stat]:
    """Every process now (threads are not listed in /proc itself)."""
    found = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = stat(int(entry.name))
            if info is not None:
                found[info.pid] = info
    return found


def alive(pid: int) -> bool:
    info = stat(pid)
    return info is not None and info.alive


def children(pid: int) -> list[int]:
    """The live children of `pid` (started by any of its threads)."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for task in (PROC / str(pid) / "task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return [c for c in found if alive(c)]


def command_line(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return "?"
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def group(pgid: int) -> list[int]:
    """The live members of process group `pgid`."""
    return [p.pid for p in processes().values() if p.pgrp == pgid and p.alive]


def spawn(command: list[str], **options: Any) -> subprocess.Popen[Any]:
    """subprocess.Popen(command, **options) in a new session: the process and whatever it
    starts form one group, which `stop` ends as one."""
    assert running_a_slow_test is not False, "a test that starts a process is marked slow"
    process = subprocess.Popen(command, start_new_session=True, **options)
    SESSIONS.add(process.pid)
    return process


def stop(process: subprocess.Popen[Any], seconds: float = 10) -> None:
    """SIGTERM; after `seconds` without an exit, SIGKILL; then SIGKILL to whatever is left
    of its group (its workers, were it killed); returns when the group is empty, with the
    process reaped and its pipes closed."""
    try:
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=seconds)
        if process.pid in SESSIONS:
            with contextlib.suppress(ProcessLookupError):  # no such group: nobody is left
                os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait(timeout=30)
        if process.pid in SESSIONS:
            wait_for(lambda: not group(process.pid), what=f"the end of group {process.pid}")
    finally:
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def snapshot() -> set[tuple[int, int]]:
    """(pid, start) of every process now."""
    return {(p.pid, p.start) for p in processes().values()}


def left_behind(before: set[tuple[int, int]]) -> list[Stat]:
    """The live processes not in `before` that this session started: descendants of this
    process, members of the sessions `spawn` created, orphans in this process's group."""
    me = os.getpid()
    everything = processes()
    own_group = everything[me].pgrp

    def descends_from_me(info: Stat) -> bool:
        seen = set()
        while info.ppid not in (0, 1) and info.pid not in seen:
            if info.ppid == me:
                return True
            seen.add(info.pid)
            parent = everything.get(info.ppid)
            if parent is None:
                return False
            info = parent
        return False

    return [
        info
        for info in everything.values()
        if info.pid != me
        and info.alive
        and (info.pid, info.start) not in before
        and (
            info.session in SESSIONS
            or (info.pgrp == own_group and info.ppid == 1)
            or descends_from_me(info)
        )
    ]
