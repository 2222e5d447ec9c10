"""One writer per run (or sweep) directory: a lock file naming its holder, taken over only from a dead process."""
from __future__ import annotations

import atexit
import json
import os
import socket
import time
from pathlib import Path

LOCK_NAME = ".lock"


class DirectoryInUse(ValueError):
    """Another live process writes to the directory."""


def acquire(directory: Path, steal: bool = False) -> Path:
    """Hold ``directory/.lock`` until this process exits (or :func:`release`).

    A lock of this process is re-entered; one of a dead process on this host is taken over, and said so; with
    ``steal`` (a sweep trial: Tune runs one copy of it at a time) any holder's is taken over.

    Raises:
        DirectoryInUse: a live process (or one on another host, whose liveness cannot be checked) holds it.
    """
    path = directory / LOCK_NAME
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path)
            if holder.get("pid") == mine["pid"] and holder.get("host") == mine["host"]:
                return path
            if not (steal or _dead(holder, mine["host"])):
                raise DirectoryInUse(f"{directory} is in use by pid {holder.get('pid')} on {holder.get('host')} "
                                     f"since {holder.get('since')}; wait for it to finish or stop it") from None
            print(f"took over the lock of {directory} from pid {holder.get('pid')} on {holder.get('host')} "
                  f"(since {holder.get('since')}), {'a restarted trial' if steal else 'no longer running'}",
                  flush=True)
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(mine, f)
        atexit.register(release, directory)
        return path


def is_held(directory: Path) -> bool:
    """Whether this process holds ``directory``'s lock."""
    holder = _holder(directory / LOCK_NAME) if (directory / LOCK_NAME).exists() else {}
    return holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname()


def release(directory: Path) -> None:
    """Remove the lock if this process holds it."""
    path = directory / LOCK_NAME
    if path.exists() and _holder(path).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}  # a lock cut mid-write: its writer died before it held anything


def _dead(holder: dict, host: str) -> bool:
    if not holder:
        return True
    if holder.get("host") != host:
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
