"""nbgrader's exchange, made one a student can't abuse: the classes the hub's servers load for nbgrader's seven
exchange steps (deploy/jupyterhub/jupyter/nbgrader_config.py installs them with :func:`install`).

Everything in the exchange that a student made is hostile input for the instructor who collects it. These classes:

- **keep the exchange root and the course's folders the instructor's**: a root owned by root (or the instructor),
  course folders that the instructor or root made, never ones a student planted first (nbgrader insists on a
  world-writable root; these classes don't);
- **take a submission's identity from what the student can't choose**, never from a folder's name or a
  ``--student`` option, and only for ids on the roster;
- **take a submission's time from the server's clock**: the newest change time (ctime, which no user can set) of
  the folder and its files, never the name's or ``timestamp.txt``'s;
- **copy only regular files** by grading/safe_files.py's rules (never through a link, no FIFO, device or hard link,
  sizes checked on the bytes read); a refused submission is listed (Formgrader's Collect log, and
  ``grades/collect_problems.json`` in the course) and the rest are collected;
- **show each feedback page to its own student only**.

Two layouts, chosen by the environment variable ``NBGRADER_EXCHANGE_LAYOUT``:

``shared`` (the default: one machine, every person a Unix user of their own)
    Everyone sees the same exchange folder. Inbound is sticky (mode 3733), so nobody can rename or remove another's
    submission; a submission folder is closed to other students as soon as it exists (:class:`PrivateSubmit`);
    Collect takes the student from the Unix **owner** of the submission folder (the name must agree); each feedback
    page gets an access list (:class:`PrivateReleaseFeedback`). The roster is a Unix group
    (``NBGRADER_ROSTER_GROUP``) or a file (``NBGRADER_ROSTER_FILE``).

``per-user`` (Kubernetes: every pod writes as the same uid, and the image has no passwd entry for the students)
    Owners mean nothing there, so the exchange volume is never mounted whole in a student's pod. The hub mounts
    ``<course>/outbound`` read-only, ``<course>/inbound/<user>`` read-write as ``<course>/inbound`` and
    ``<course>/feedback/<user>`` read-only as ``<course>/feedback`` (deploy/kubernetes/values.yaml): a student can
    write only into their own inbound folder and read only their own feedback, and that folder's name is the hub's
    word for the student, not theirs. The instructor's pod mounts the whole volume, with inbound read-only. Collect
    takes the student from that folder (``inbound/<user>/<user>+<assignment>+<time>``), checks the name inside
    against it, and needs a roster (``NBGRADER_ROSTER_FILE``: one student id a line); release of feedback writes
    each page into ``feedback/<student>/``.
"""

import datetime
import fnmatch
import glob
import grp
import json
import os
import pwd
import re
import shutil
import stat
import struct

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.fetch_assignment import ExchangeFetchAssignment
from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
from nbgrader.exchange.default.list import ExchangeList
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

from grading import safe_files

LAYOUT_VARIABLE = "NBGRADER_EXCHANGE_LAYOUT"
LAYOUTS = ("shared", "per-user")
#: More entries than this in one student's inbound folder (per-user layout) and the folder is refused and listed:
#: a student can't make the instructor's Collect walk a million folders.
MAX_ENTRIES_PER_STUDENT = 500


def layout():
    """The exchange's layout, from ``NBGRADER_EXCHANGE_LAYOUT`` (``shared`` when unset)."""
    value = os.environ.get(LAYOUT_VARIABLE, "") or "shared"
    if value not in LAYOUTS:
        raise ValueError(f"{LAYOUT_VARIABLE}: expected one of {', '.join(LAYOUTS)}, got {value!r}")
    return value


def per_user():
    return layout() == "per-user"


def roster():
    """The student ids allowed to hand in: from ``NBGRADER_ROSTER_FILE`` (one id a line, ``#`` starts a comment)
    or the Unix group ``NBGRADER_ROSTER_GROUP``; None when neither is set."""
    path = os.environ.get("NBGRADER_ROSTER_FILE", "")
    group = os.environ.get("NBGRADER_ROSTER_GROUP", "")
    if path:
        try:
            with open(path, encoding="utf-8") as lines:
                ids = [line.split("#")[0].strip() for line in lines]
        except OSError as error:
            raise ValueError(f"NBGRADER_ROSTER_FILE: expected a readable file of student ids, got {path!r} "
                             f"({error.strerror})") from error
        wrong = [text for text in ids if text and not safe_files.valid_student_id(text)]
        if wrong:
            raise ValueError(f"NBGRADER_ROSTER_FILE {path}: expected student ids (a letter or digit first, then "
                             f"letters, digits and ._@-), got {wrong[:5]!r}")
        return {text for text in ids if text}
    if group:
        try:
            entry = grp.getgrnam(group)
        except KeyError:
            raise ValueError(f"NBGRADER_ROSTER_GROUP: expected a Unix group, got {group!r} (no such group)") from None
        return set(entry.gr_mem) | {user.pw_name for user in pwd.getpwall() if user.pw_gid == entry.gr_gid}
    return None


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class InstructorsRoot:
    """The exchange root belongs to root (or an instructor) and is not writable by students: nbgrader's own check
    (a root every user can write into) is replaced by one that refuses a root someone else could have planted."""

    def ensure_root(self):
        try:
            layout()
        except ValueError as error:
            self.fail(str(error))
        try:
            info = os.stat(self.root, follow_symlinks=False)
        except OSError:
            self.fail(f"The exchange {self.root} does not exist: the hub creates it at start (ask your instructor)")
        if not stat.S_ISDIR(info.st_mode):
            self.fail(f"The exchange {self.root} is not a folder")
        if info.st_uid not in (0, os.getuid()):
            self.fail(f"The exchange {self.root} belongs to {_user(info.st_uid)}, not to root: refusing to use it")


class SafeReleaseAssignment(InstructorsRoot, ExchangeReleaseAssignment):
    """Release into course folders that the instructor (or root) made, never one a student made first; inbound
    gets the sticky bit, so that nobody can rename or remove another's submission. In the per-user layout inbound
    is the set-up's (read-only in the instructor's pod) and is left as it is."""

    def ensure_directory(self, path, mode):
        if per_user() and os.path.basename(path) == "inbound":
            if not os.path.isdir(path):
                self.fail(f"{path} is missing: in the per-user exchange the set-up makes it (deploy/kubernetes/"
                          "exchange-pvc.yaml) and the instructor's pod mounts it read-only")
            return
        if os.path.lexists(path):
            info = os.stat(path, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid not in (0, os.getuid()):
                self.fail(f"{path} was made by {_user(info.st_uid)}, not by you or root: someone squatted the "
                          "course's exchange folder; remove it as root and release again")
        else:
            os.makedirs(path)
        if os.stat(path).st_uid == os.getuid():
            os.chmod(path, mode | (stat.S_ISVTX if os.path.basename(path) == "inbound" else 0))


class PrivateSubmit(InstructorsRoot, ExchangeSubmit):
    """nbgrader's submit, with the submission's folder closed to everyone but its student and the instructors.

    Stock nbgrader leaves each submission folder in ``inbound/`` mode 777 (its files 644): it is hidden only by its
    name, and anyone who learns the name can read or replace a classmate's work. The course's inbound folder is
    setgid with the instructors' group (the hub's exchange is, and the instructor's primary group is that group),
    so each submission folder is made with that group; here it becomes 770 as soon as it is copied, and again after
    each of nbgrader's own permission changes. Other students cannot enter it; the instructors' collect can.

    The name of the folder is the Unix user running this (shared layout) or the hub's name for the user
    (``JUPYTERHUB_USER``, per-user layout), never a ``--student`` option; Collect checks it either way.
    """

    def init_dest(self):
        self.coursedir.student_id = "*"  # never a --student option
        hub_user = os.environ.get("JUPYTERHUB_USER", "")
        if per_user() and safe_files.valid_student_id(hub_user):
            self.coursedir.student_id = hub_user
        super().init_dest()

    def _close(self, path):
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(self.inbound_path):
            os.chmod(path, 0o770)

    def do_copy(self, src, dest, log=None):
        super().do_copy(src, dest, log)
        self._close(dest)

    def set_perms(self, dest, fileperms, dirperms):
        super().set_perms(dest, fileperms, dirperms)
        self._close(dest)

    def copy_files(self):
        super().copy_files()
        self._close(os.path.join(self.inbound_path, self.assignment_filename))


def readable_by_owner_and(path, uid):
    """Make ``path`` readable by its owner (read-write), its group and the user ``uid``, and nobody else: a POSIX
    access ACL (the binary form of ``setfacl -m u:UID:r,o::-``). False where the file system has no ACLs."""
    entries = [(0x01, 6, -1), (0x02, 4, uid), (0x04, 4, -1), (0x10, 4, -1), (0x20, 0, -1)]  # user::rw- user:UID:r--
    acl = struct.pack("<I", 2) + b"".join(struct.pack("<HHI", tag, perm, ident & 0xFFFFFFFF)  # group::r-- mask::r--
                                          for tag, perm, ident in entries)                    # other::---
    try:
        os.setxattr(path, "system.posix_acl_access", acl)
        return True
    except OSError:
        return False


class PrivateReleaseFeedback(InstructorsRoot, ExchangeReleaseFeedback):
    """nbgrader's release of feedback, with each page readable by its own student only (and the instructors).

    Stock nbgrader leaves the pages in ``feedback/`` mode 644: hidden only by their names (a hash of a secret of the
    submission). Shared layout: each page gets an ACL that lets its student read it and nobody else; on a file
    system without ACLs the page stays as nbgrader left it, and a warning says so. Per-user layout: each page goes
    into ``feedback/<student>/``, the one feedback folder that student's pod mounts.
    """

    def _pages(self):
        """(page, student, released name) of every feedback page of this release."""
        for page in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
            folder = os.path.dirname(page)
            student = os.path.basename(os.path.dirname(folder))
            with open(os.path.join(folder, "submission_secret.txt")) as secret:
                name = notebook_hash(secret=secret.read(), notebook_id=os.path.splitext(os.path.basename(page))[0])
            yield page, student, f"{name}.html"

    def copy_files(self):
        if per_user():
            self._copy_per_user()
            return
        super().copy_files()
        for _, student, released in self._pages():
            try:
                uid = pwd.getpwnam(student).pw_uid
            except KeyError:
                self.log.warning("No Unix user %s: their feedback page stays readable by name", student)
                continue
            if not readable_by_owner_and(os.path.join(self.dest_path, released), uid):
                self.log.warning("No ACLs on %s: %s's feedback page stays readable by name", self.dest_path, student)

    def _copy_per_user(self):
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        for page, student, released in self._pages():
            if student in excluded:
                continue
            if not safe_files.valid_student_id(student):
                self.log.warning("Not released: %r is not a valid student id", student)
                continue
            folder = os.path.join(self.dest_path, student)
            if os.path.lexists(folder) and not stat.S_ISDIR(os.stat(folder, follow_symlinks=False).st_mode):
                self.fail(f"{folder} is not a folder: refusing to write {student}'s feedback through it")
            os.makedirs(folder, mode=0o700, exist_ok=True)
            temporary = os.path.join(folder, f".{released}.tmp")
            if os.path.lexists(temporary):
                os.unlink(temporary)
            with open(page, "rb") as source:
                data = source.read()
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(temporary, os.path.join(folder, released))
            self.log.info("Feedback for %s on %s released to %s", student, self.coursedir.assignment_id, folder)


class SafeCollect(InstructorsRoot, ExchangeCollect):
    """nbgrader's collect, with the student's identity from what the student can't choose (the folder's Unix owner,
    or in the per-user layout the hub's per-user folder), the server's clock, a roster, and grading/safe_files.py's
    rules for what is copied (see the top of this file)."""

    def _problem(self, source, kind, detail):
        self.problems.append({"source": source, "kind": kind, "detail": detail})
        self.log.warning("Not collected: %s: %s: %s", source, kind, detail)

    def _ours(self, name):
        parts = name.split("+")
        return len(parts) >= 3 and parts[1] == self.coursedir.assignment_id

    def _wanted(self, student):
        return not self.coursedir.student_id or self.coursedir.student_id in ("*", student)

    def init_src(self):
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        try:
            ids = roster()
        except ValueError as error:
            self.fail(str(error))
        self.problems, self.latest = [], {}
        if per_user():
            if ids is None:
                self.fail("The per-user exchange needs a roster: set NBGRADER_ROSTER_FILE to a file of the class's "
                          "student ids, one a line (see guides/jupyterhub.md)")
            self._scan_per_user(ids)
        else:
            self._scan_shared(ids)
        self.src_records = list(self.latest.values())
        self._write_problems()

    def _scan_shared(self, ids):
        """Identity from the submission folder's Unix owner; the name must agree."""
        for name in sorted(os.listdir(self.inbound_path)):
            if not self._ours(name):
                continue
            path = os.path.join(self.inbound_path, name)
            info = os.stat(path, follow_symlinks=False)
            owner = _user(info.st_uid)
            claimed = name.split("+")[0]
            if not stat.S_ISDIR(info.st_mode):
                self._problem(path, "not a folder", f"a {safe_files._kind_of(info.st_mode)} made by {owner}")
            elif claimed != owner:
                self._problem(path, "identity", f"claims to be {claimed!r}'s submission but was made by {owner}")
            elif self._accepted(path, owner, ids) and self._wanted(owner):
                self._consider(path, name, owner, info)

    def _scan_per_user(self, ids):
        """Identity from the per-user folder (``inbound/<user>/``), which the hub named and mounted; the submission's
        own name must agree with it."""
        for folder in sorted(os.listdir(self.inbound_path)):
            base = os.path.join(self.inbound_path, folder)
            info = os.stat(base, follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                self._problem(base, "not a folder", f"a {safe_files._kind_of(info.st_mode)} where the set-up "
                                                    "makes one folder per user")
                continue
            try:
                with os.scandir(base) as entries:
                    names = []
                    for entry in entries:
                        names.append(entry.name)
                        if len(names) > MAX_ENTRIES_PER_STUDENT:
                            break
            except OSError as error:
                self._problem(base, "unreadable", f"cannot list it ({error.strerror})")
                continue
            if len(names) > MAX_ENTRIES_PER_STUDENT:
                self._problem(base, "too many entries", f"more than {MAX_ENTRIES_PER_STUDENT} entries in "
                                                        f"{folder}'s inbound folder: nothing of it collected")
                continue
            names = sorted(name for name in names if self._ours(name))
            if not names or not self._accepted(base, folder, ids) or not self._wanted(folder):
                continue
            for name in names:
                path = os.path.join(base, name)
                sub = os.stat(path, follow_symlinks=False)
                claimed = name.split("+")[0]
                if not stat.S_ISDIR(sub.st_mode):
                    self._problem(path, "not a folder", f"a {safe_files._kind_of(sub.st_mode)} in {folder}'s "
                                                        "inbound folder")
                elif claimed != folder:
                    self._problem(path, "identity", f"claims to be {claimed!r}'s submission but is in {folder}'s "
                                                    "inbound folder")
                else:
                    self._consider(path, name, folder, info)

    def _accepted(self, path, student, ids):
        """Whether ``student`` (the owner or the per-user folder) is a valid id on the roster; listed if not."""
        if not safe_files.valid_student_id(student):
            self._problem(path, "student id", f"{student!r} is not a valid student id")
            return False
        if ids is not None and student not in ids:
            self._problem(path, "not on the roster", f"{student} is not on the class's roster")
            return False
        return True

    def _consider(self, path, name, student, owner_info):
        """Read one submission folder by safe_files' rules (every file owned like ``owner_info``) and keep it if it
        is the student's newest by the server's clock."""
        tree = safe_files.read_tree(path, owner=owner_info.st_uid, ignore=self._ignored,
                                    max_file_bytes=1000 * self.coursedir.max_file_size,
                                    max_total_bytes=1000 * self.coursedir.max_dir_size)
        for refused in tree.refused:
            self._problem(os.path.join(path, refused.path), refused.kind, refused.detail)
        if any(r.path == "" for r in tree.refused):
            return
        if not any(f.endswith(".ipynb") for f in tree.files):
            self._problem(path, "no notebook", "nothing gradable could be copied from this submission")
            return
        # The server's clock: the newest change time (ctime, which no user can set) of the folder and its files.
        changed = max([os.stat(path, follow_symlinks=False).st_ctime] + [st.st_ctime for st in tree.stats.values()])
        timestamp = datetime.datetime.fromtimestamp(changed, datetime.UTC).replace(tzinfo=None)
        record = {"username": student, "filename": name, "timestamp": timestamp, "tree": tree}
        if student not in self.latest or timestamp > self.latest[student]["timestamp"]:
            self.latest[student] = record

    def _ignored(self, relative, is_folder):
        name = relative.split("/")[-1]
        return name in ("timestamp.txt",) or any(fnmatch.fnmatch(name, pattern)
                                                 for pattern in self.coursedir.ignore)

    def _write_problems(self):
        grades = os.path.join(self.coursedir.root, "grades")
        os.makedirs(grades, exist_ok=True)
        with open(os.path.join(grades, "collect_problems.json"), "w") as out:
            json.dump(self.problems, out, indent=1)

    def copy_files(self):
        for record in self.src_records:
            student = record["username"]
            dest = self.coursedir.format_path(self.coursedir.submitted_directory, student,
                                              self.coursedir.assignment_id)
            existing = self.coursedir.get_existing_timestamp(dest) if os.path.isdir(dest) else None
            if existing is not None and not (self.update and record["timestamp"] > existing):
                self.log.info("No newer submission to collect: %s %s", student, self.coursedir.assignment_id)
                continue
            if os.path.lexists(dest):
                shutil.rmtree(dest)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            safe_files.write_tree(record["tree"].files, dest)
            with open(os.path.join(dest, "timestamp.txt"), "w") as out:
                out.write(record["timestamp"].strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
            self.log.info("Collected submission: %s %s (%s, by the server's clock)", student,
                          self.coursedir.assignment_id, record["timestamp"])
        if self.problems:
            self.log.warning("%d thing(s) not collected: see grades/collect_problems.json", len(self.problems))


class SafeFetchAssignment(InstructorsRoot, ExchangeFetchAssignment):
    pass


class SafeFetchFeedback(InstructorsRoot, ExchangeFetchFeedback):
    pass


class SafeList(InstructorsRoot, ExchangeList):
    """nbgrader's list; in the per-user layout the instructor's view of inbound is one folder deeper
    (``inbound/<user>/<user>+<assignment>+<time>``)."""

    def init_dest(self):
        super().init_dest()
        if self.inbound and per_user():
            course_id = self.coursedir.course_id or "*"
            pattern = os.path.join(self.root, course_id, "inbound", "*", "{}+{}+*".format(
                self.coursedir.student_id or "*", self.coursedir.assignment_id or "*"))
            self.assignments = sorted(set(self.assignments) | set(glob.glob(pattern)))

    def parse_assignment(self, assignment):
        if self.inbound and per_user():
            match = re.match(r".*/(?P<course_id>[^/]*)/inbound/(?:[^/]*/)?(?P<student_id>[^/+]*)\+"
                             r"(?P<assignment_id>[^/+]*)\+(?P<timestamp>[^/+]*)(?P<random_string>\+[^/]*)?$",
                             assignment)
            if match is None:
                raise RuntimeError(f"Could not parse the inbound submission {assignment!r}")
            return match.groupdict()
        return super().parse_assignment(assignment)


EXCHANGE_CLASSES = {
    "release_assignment": SafeReleaseAssignment,
    "fetch_assignment": SafeFetchAssignment,
    "submit": PrivateSubmit,
    "list": SafeList,
    "collect": SafeCollect,
    "release_feedback": PrivateReleaseFeedback,
    "fetch_feedback": SafeFetchFeedback,
}


def install(config):
    """Make nbgrader use these classes for each of its exchange steps (``config`` is a configuration file's ``c``)."""
    for step, cls in EXCHANGE_CLASSES.items():
        setattr(config.ExchangeFactory, step, cls)
