"""The processes running in a sandbox (:func:`processes_of`: what a submission left running, for its report) and the
end of any that outlive it (:func:`kill_leftovers`)."""

from collections.abc import Collection

from .common import as_root

#: Without root, every sandbox runs as the grader's own user: ``{sandbox uid: pid of its bubblewrap}``, so that
#: :func:`processes_of` finds a sandbox's processes as bubblewrap's descendants rather than by their user.
_SANDBOXES: dict[int, int] = {}


def track(uid: int, bwrap_pid: int) -> None:
    """Note the bubblewrap of the sandbox whose user is ``uid`` (needed without root: see :data:`_SANDBOXES`)."""
    _SANDBOXES[uid] = bwrap_pid


def untrack(uid: int) -> None:
    """Forget the sandbox whose user is ``uid`` (it has stopped)."""
    _SANDBOXES.pop(uid, None)


def _members(uid):
    """The processes of the sandbox whose user is ``uid``: by user id with root, else bubblewrap's descendants."""
    import psutil

    if as_root() or uid not in _SANDBOXES:
        return [process for process in psutil.process_iter(["uids", "cmdline", "name"])
                if process.info["uids"] and process.info["uids"].real == uid]
    try:
        family = psutil.Process(_SANDBOXES[uid]).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    members = []
    for process in family:
        try:
            process.info = process.as_dict(["uids", "cmdline", "name"])
        except psutil.Error:
            continue
        if process.info["name"] != "bwrap":
            members.append(process)
    return members


def processes_of(uid: int, exclude_kernel: bool = False, own: Collection[int] = ()) -> list[str]:
    """The names of the processes running in a sandbox whose user is ``uid`` (the kernel itself left out when asked:
    the processes ``own``, when the manager knows them, else those running ipykernel_launcher)."""
    import psutil

    names = []
    for process in _members(uid):
        try:
            command_line = process.info["cmdline"] or []
            if exclude_kernel and (process.pid in own if own else
                                   any("ipykernel_launcher" in part for part in command_line)):
                continue
            names.append(process.info["name"] or "?")
        except psutil.Error:
            pass
    return names


def kill_leftovers(uid: int) -> int:
    """Kill any process still running as a sandbox's user (there should be none: the PID namespace is gone with
    its kernel). Returns how many were killed."""
    import psutil

    if not as_root():
        return 0
    left = []
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"] and process.info["uids"].real == uid:
                process.kill()
                left.append(process)
        except psutil.Error:
            pass
    psutil.wait_procs(left, timeout=5)
    return len(left)
