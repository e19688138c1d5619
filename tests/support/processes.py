"""The processes a test started: Chromium and the crawls' children, read from /proc."""

from __future__ import annotations

from pathlib import Path


def _status(pid: int | str) -> list[str] | None:
    """The fields of /proc/``pid``/stat after the command name (state, parent id, ...); None once
    the process has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie waiting to be reaped."""
    status = _status(pid)
    return status is not None and status[0] not in ("Z", "X")


def descendants(root: int) -> set[int]:
    """The ids of every process below ``root`` (children, their children, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (status := _status(entry.name)) is None:
            continue
        children.setdefault(int(status[1]), []).append(int(entry.name))
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def command_line(pid: int) -> str:
    """The command line of ``pid``, words joined by spaces; "" once it has gone."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""
