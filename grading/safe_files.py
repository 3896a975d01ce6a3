"""The one place for the rules on copying what a student made: ``make collect`` and the hub's exchange both use it.

The instructor's side copies, renders and opens what students made, with the instructor's rights. Whatever a
student can put in a folder is hostile input here, so:

- only **regular files** are read: never a symbolic link (not even one inside the folder: every file and folder is
  opened with ``O_NOFOLLOW`` relative to its parent's descriptor, so a link swapped in halfway is refused too), never
  a FIFO, socket or device (refused from ``lstat`` before any open, and checked again with ``fstat`` on what was
  opened), never a file with more than one hard link (a link to another's file keeps the other's inode);
- with ``owner`` given, every file and folder must belong to that user (the submitting student);
- sizes are checked on the bytes actually read (a file that grows after ``stat`` is still cut off), per file and for
  the whole submission; the number of files and the depth are limited;
- a folder that cannot be read, or any refused entry, is *listed* (:class:`Refused` records), never fatal for the
  rest of the class;
- student ids are validated (:func:`check_student_id`): a letter or digit first, then letters, digits and ``._@-``,
  at most 64 characters, so an id is never HTML, a path or an option;
- :func:`claim_ids` gives one student id per submission and lists collisions (``alice`` and ``alice!`` both meaning
  ``alice``) instead of resolving them silently; :func:`check_roster` lists ids that are not on the roster.
"""

import os
import re
import stat
from dataclasses import dataclass, field

#: What a student id may be: it becomes a folder name, a gradebook key and text in Formgrader's pages.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024
MAX_FILES = 500
MAX_DEPTH = 12
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


def valid_student_id(text):
    """Whether ``text`` is a student id the course accepts (see :data:`STUDENT_ID`)."""
    return isinstance(text, str) and STUDENT_ID.fullmatch(text) is not None


def check_student_id(text, argument="student id"):
    """``text`` if it is a valid student id, else a ValueError naming the argument, the rule and what arrived."""
    if not valid_student_id(text):
        raise ValueError(f"{argument}: expected a letter or digit followed by up to 63 letters, digits or '._@-', "
                         f"got {text!r}")
    return text


def sanitize_student_id(text):
    """The id a free-form name (an LMS file name, say) stands for: runs of other characters become ``_``; empty when
    nothing usable is left."""
    cleaned = re.sub(r"[^A-Za-z0-9_.@-]+", "_", text).strip("._-")[:64]
    return cleaned if valid_student_id(cleaned) else ""


@dataclass
class Refused:
    """One thing that was not copied, and why."""
    path: str
    kind: str
    detail: str

    def as_problem(self, source):
        return {"source": os.path.join(source, self.path) if self.path else source, "kind": self.kind,
                "detail": self.detail}


@dataclass
class Tree:
    """What :func:`read_tree` found: the regular files' bytes by relative path, their ``stat``, and the refused."""
    files: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)
    refused: list = field(default_factory=list)

    @property
    def total_bytes(self):
        return sum(len(data) for data in self.files.values())


def _kind_of(mode):
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISDIR(mode):
        return "folder"
    return "regular file" if stat.S_ISREG(mode) else "special file"


def _owner_name(uid):
    try:
        import pwd
        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def read_regular(name, dir_fd=None, owner=None, max_bytes=MAX_FILE_BYTES):
    """The bytes of the regular file ``name`` (relative to ``dir_fd`` when given) and its ``stat``; raises
    :class:`RefusedError` for a link, a FIFO, a device, a hard-linked file, another owner's file or too many bytes."""
    try:
        before = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as error:
        raise RefusedError("unreadable", f"cannot stat it ({error.strerror})") from None
    if not stat.S_ISREG(before.st_mode):
        raise RefusedError(_kind_of(before.st_mode), "only regular files are copied")
    try:
        fd = os.open(name, _OPEN_FILE, dir_fd=dir_fd)
    except OSError as error:  # ELOOP: it became a link after the lstat
        raise RefusedError("unreadable", f"cannot open it ({error.strerror})") from None
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(info.st_mode):
            raise RefusedError("replaced", "it changed between looking at it and opening it")
        if info.st_nlink != 1:
            raise RefusedError("hard link", f"the file has {info.st_nlink} names (a hard link to another file)")
        if owner is not None and info.st_uid != owner:
            raise RefusedError("not the student's", f"owned by {_owner_name(info.st_uid)}, not by "
                                                    f"{_owner_name(owner)}")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise RefusedError("too large", f"more than {max_bytes} bytes")
        return b"".join(chunks), info
    except OSError as error:
        raise RefusedError("unreadable", f"cannot read it ({error.strerror})") from None
    finally:
        os.close(fd)


class RefusedError(Exception):
    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


def read_tree(root, owner=None, ignore=None, max_file_bytes=MAX_FILE_BYTES, max_total_bytes=MAX_TOTAL_BYTES,
              max_files=MAX_FILES, max_depth=MAX_DEPTH):
    """Every regular file under the folder ``root`` (itself never a link), read by the rules above.

    ``ignore(relative_path, is_folder)`` may skip entries silently (checkpoints, caches). Returns a :class:`Tree`;
    what was refused is in ``tree.refused`` (``path`` "" for ``root`` itself).
    """
    tree = Tree()
    try:
        info = os.stat(root, follow_symlinks=False)
    except OSError as error:
        tree.refused.append(Refused("", "unreadable", f"cannot stat it ({error.strerror})"))
        return tree
    if not stat.S_ISDIR(info.st_mode):
        tree.refused.append(Refused("", _kind_of(info.st_mode), "a submission must be a real folder"))
        return tree
    if owner is not None and info.st_uid != owner:
        tree.refused.append(Refused("", "not the student's", f"owned by {_owner_name(info.st_uid)}, not by "
                                                             f"{_owner_name(owner)}"))
        return tree
    try:
        fd = os.open(root, _OPEN_DIR)
    except OSError as error:
        tree.refused.append(Refused("", "unreadable", f"cannot open it ({error.strerror})"))
        return tree
    try:
        _walk(fd, "", 0, tree, owner, ignore, max_file_bytes, max_total_bytes, max_files, max_depth)
    finally:
        os.close(fd)
    return tree


def _walk(fd, prefix, depth, tree, owner, ignore, max_file_bytes, max_total_bytes, max_files, max_depth):
    try:
        names = sorted(os.listdir(fd))
    except OSError as error:
        tree.refused.append(Refused(prefix.rstrip("/"), "unreadable", f"cannot list it ({error.strerror})"))
        return
    for name in names:
        relative = prefix + name
        try:
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except OSError as error:
            tree.refused.append(Refused(relative, "unreadable", f"cannot stat it ({error.strerror})"))
            continue
        is_dir = stat.S_ISDIR(info.st_mode)
        if ignore is not None and ignore(relative, is_dir):
            continue
        if is_dir:
            if depth + 1 > max_depth:
                tree.refused.append(Refused(relative, "too deep", f"more than {max_depth} folders deep"))
                continue
            if owner is not None and info.st_uid != owner:
                tree.refused.append(Refused(relative, "not the student's", f"owned by {_owner_name(info.st_uid)}"))
                continue
            try:
                child = os.open(name, _OPEN_DIR, dir_fd=fd)
            except OSError as error:
                tree.refused.append(Refused(relative, "unreadable", f"cannot open it ({error.strerror})"))
                continue
            try:
                _walk(child, relative + "/", depth + 1, tree, owner, ignore, max_file_bytes, max_total_bytes,
                      max_files, max_depth)
            finally:
                os.close(child)
            continue
        if len(tree.files) >= max_files:
            tree.refused.append(Refused(relative, "too many files", f"more than {max_files} files"))
            continue
        budget = min(max_file_bytes, max_total_bytes - tree.total_bytes)
        try:
            data, file_info = read_regular(name, dir_fd=fd, owner=owner, max_bytes=max(budget, 0))
        except RefusedError as error:
            detail = error.detail
            if error.kind == "too large" and budget < max_file_bytes:
                detail = f"the submission is over {max_total_bytes} bytes in all"
            tree.refused.append(Refused(relative, error.kind, detail))
            continue
        tree.files[relative] = data
        tree.stats[relative] = file_info


def write_tree(files, dest, file_mode=0o644, dir_mode=0o755):
    """Write ``{relative path: bytes}`` under the new folder ``dest`` (which must not exist), creating every file
    with ``O_EXCL | O_NOFOLLOW`` so that nothing is written through a link."""
    os.makedirs(dest, mode=dir_mode)
    for relative, data in files.items():
        parts = relative.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"files: expected relative paths inside the folder, got {relative!r}")
        folder = os.path.join(dest, *parts[:-1])
        os.makedirs(folder, mode=dir_mode, exist_ok=True)
        fd = os.open(os.path.join(folder, parts[-1]),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, file_mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)


def claim_ids(raw_ids):
    """One student id per submission: ``{raw id: student id}`` for the accepted ones and a list of
    ``(raw id, reason)`` for the others.

    A raw id is cleaned with :func:`sanitize_student_id`. When two different raw ids clean to the same id, it is a
    collision: a raw id that already *is* that id keeps it (``alice`` beside ``alice!``), every other claimant is
    refused and listed; with no exact owner all of them are refused. Never the newer file silently winning.
    """
    by_id = {}
    for raw in raw_ids:
        by_id.setdefault(sanitize_student_id(raw), []).append(raw)
    accepted, refused = {}, []
    for student, claimants in by_id.items():
        claimants = sorted(set(claimants))
        if not student:
            refused += [(raw, "no usable student id in the name") for raw in claimants]
        elif len(claimants) == 1:
            accepted[claimants[0]] = student
        else:
            exact = [raw for raw in claimants if raw == student]
            others = ", ".join(repr(raw) for raw in claimants)
            for raw in claimants:
                if exact and raw == exact[0]:
                    accepted[raw] = student
                else:
                    refused.append((raw, f"collision: {others} all mean the student id {student!r}; "
                                         + (f"only {student!r} itself was collected" if exact else
                                            "none was collected: rename the files or use --id-pattern")))
    return accepted, refused


def check_roster(student_ids, roster):
    """(ids on the roster, ids not on it); with ``roster`` None every valid id is accepted."""
    if roster is None:
        return list(student_ids), []
    roster = set(roster)
    return [s for s in student_ids if s in roster], [s for s in student_ids if s not in roster]
