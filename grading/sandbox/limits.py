"""What one submission's kernel may use (:class:`Limits`) and which user it runs as (:func:`allocate_uid`)."""

import fcntl
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import IO

from .common import SandboxError
from .folders import run_root

#: The first user id of the sandboxes; each kernel takes a free one from there up. No account needs to exist.
DEFAULT_UID = 2_000_000


@dataclass(frozen=True)
class Limits:
    """What one submission's kernel may use; a breach stops what caused it (scored 0) and is listed."""

    memory_mb: int = 2048      # address space of each process (SANDBOX_MEMORY_MB)
    cpu_seconds: int = 600     # CPU time of each process (SANDBOX_CPU_SECONDS)
    processes: int = 64        # processes and threads of the sandbox's user (SANDBOX_PROCESSES)
    file_mb: int = 200         # size of one file (SANDBOX_FILE_MB)
    disk_mb: int = 200         # the writable HOME, and /tmp, each (SANDBOX_DISK_MB)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Limits":
        """The limits the environment sets (``SANDBOX_MEMORY_MB`` and the like), the defaults for the others."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            name = f"SANDBOX_{field.name.upper()}"
            raw = environ.get(name)
            if raw is None:
                continue
            try:
                values[field.name] = int(raw)
            except ValueError:
                raise SandboxError(f"{name} must be a whole number, got {raw!r}") from None
            if values[field.name] <= 0:
                raise SandboxError(f"{name} must be positive, got {raw!r}")
        return cls(**values)

    def rlimits(self) -> dict[str, int]:
        """The limits of each process, named as prlimit's options (and zygote_server.py's LIMITS)."""
        return {"as": self.memory_mb << 20, "cpu": self.cpu_seconds, "nproc": self.processes,
                "fsize": self.file_mb << 20, "core": 0}

    def describe(self) -> str:
        return (f"memory {self.memory_mb} MB, CPU {self.cpu_seconds} s, {self.processes} processes, "
                f"files {self.file_mb} MB, disk {self.disk_mb} MB")


def sandbox_uid() -> int:
    """The first user id of the sandboxes (``SANDBOX_UID``)."""
    raw = os.environ.get("SANDBOX_UID", str(DEFAULT_UID))
    if not raw.strip().isdigit() or int(raw) < 1000:
        raise SandboxError(f"SANDBOX_UID must be a user id of 1000 or more, free on this machine, got {raw!r}")
    return int(raw)


def allocate_uid(span: int = 100_000) -> tuple[int, IO[str]]:
    """A user id that no other sandbox on this machine holds, and an open lock file that holds it (close it to give
    the id back). Every kernel gets its own, so limits per user (processes) and the clean-up of leftovers never touch
    another submission's sandbox, even of another grading run."""
    import psutil

    base = sandbox_uid()
    used = set()
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"]:
                used.add(process.info["uids"].real)
        except psutil.Error:
            pass
    for offset in range(span):  # the lowest free id: as many lock files as sandboxes ever ran at once
        uid = base + offset
        if uid in used:
            continue
        handle = open(run_root() / f"uid-{uid}.lock", "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return uid, handle
    raise SandboxError(f"no free sandbox user id in {base}..{base + span - 1}")
