"""Where the grader keeps its kernels' run folders (:func:`run_root`, :func:`process_run_root`), and the copy of a
submission's folder each kernel gets (:func:`stage_submission`)."""

import atexit
import os
import shutil
import stat
import tempfile
from collections.abc import Collection
from pathlib import Path

from .common import SandboxError, as_root

#: The run root a grading process chose, passed on to its workers (they inherit the environment).
RUN_ROOT_VARIABLE = "NN_GRADING_RUN_ROOT"


def _owned_privately(path: str | Path, owners: Collection[int]) -> bool:
    """Whether ``path`` is a real folder (not a link) owned by one of ``owners`` that no one else may write in."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid in owners and not info.st_mode & 0o022


def _shared_base() -> Path | None:
    """Where a grader keeps one run root for all its grading runs (so that sandbox user ids are never given out
    twice): ``/run`` for root, ``$XDG_RUNTIME_DIR`` for others; only a folder no one else can write in. None when
    there is none (then each grading run makes a private one)."""
    if as_root():
        return Path("/run") if _owned_privately("/run", {0}) else None
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/") and _owned_privately(runtime, {os.geteuid()}):
        return Path(runtime)
    return None


def run_root() -> Path:
    """The folder of this grader's run folders (one per kernel, under one per grading process), which only its owner
    can list: never a name in the shared /tmp that another user could make first (a folder or a link of theirs)
    and never an existing folder of someone else's. ``/run/nn-grading`` for root, ``$XDG_RUNTIME_DIR/nn-grading``
    for others; where neither exists, a new private folder with an unpredictable name in the temporary folder,
    made by the first grading process and used by its workers."""
    mine = {os.geteuid()}
    chosen = os.environ.get(RUN_ROOT_VARIABLE)
    if chosen and chosen.startswith("/") and _owned_privately(chosen, mine):
        return Path(chosen)
    base = _shared_base()
    if base is not None:
        root = base / "nn-grading"
        try:
            os.mkdir(root, 0o711)
        except FileExistsError:
            pass
        if not _owned_privately(root, mine):
            raise SandboxError(f"{root} is not a folder of this user that only it can write in: remove it")
    else:
        root = Path(tempfile.mkdtemp(prefix="nn-grading-"))  # O_EXCL, mode 0700, a random name
        atexit.register(_remove_at_exit, root, os.getpid())  # the process that made it removes it
    os.chmod(root, 0o711)
    os.environ[RUN_ROOT_VARIABLE] = str(root)
    return root


def _remove_at_exit(folder: Path, pid: int) -> None:
    if os.getpid() == pid:  # never from a forked child (a kernel, the preloaded process) that exits through atexit
        shutil.rmtree(folder, ignore_errors=True)


def process_run_root(pid: int | None = None) -> Path:
    """The run folders of the kernels one grading process (``pid``, by default this one) starts: removed by that
    process when it exits, and whole by the supervisor when it had to kill it, so nothing of a grading process
    (a worker, ``nbgrader autograde`` run directly, Formgrader's autograde) is left behind."""
    folder = run_root() / f"worker-{pid or os.getpid()}"
    if pid is None:
        try:
            folder.mkdir(mode=0o711)
        except FileExistsError:
            pass
        else:
            atexit.register(_remove_at_exit, folder, os.getpid())
    return folder


def stage_submission(source: str | Path, staging: str | Path, exclude: Collection[str] = ()) -> Path:
    """A copy of the submission's folder for the kernel, without the files ``exclude`` (the notebook being graded,
    whose copy holds the hidden tests nbgrader restored) and with regular files and folders only: no link, device or
    FIFO is followed or copied. Returns the copy's folder."""
    source, staging = Path(source), Path(staging)
    staging.mkdir(mode=0o755)
    for folder, dirs, files in os.walk(source, followlinks=False):
        relative = Path(folder).relative_to(source)
        for name in dirs:
            if not (Path(folder) / name).is_symlink():
                (staging / relative / name).mkdir(mode=0o755)
        for name in files:
            path = Path(folder) / name
            if (relative == Path(".") and name in exclude) or not stat.S_ISREG(path.lstat().st_mode):
                continue
            shutil.copyfile(path, staging / relative / name, follow_symlinks=False)
            os.chmod(staging / relative / name, 0o644)
    return staging
