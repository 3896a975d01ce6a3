"""nbgrader settings of every user's server on the course's JupyterHub (the hub puts this folder on
JUPYTER_CONFIG_PATH). The course's own nbgrader_config.py, which the instructors' servers load, reads the same
NBGRADER_EXCHANGE_ROOT, so the two never disagree on where the exchange is.

nbgrader's exchange is a shared folder, and everything in it that a student made is hostile input for the
instructor who collects it. The exchange classes here (one for each of nbgrader's seven steps) make it one a student
can't abuse:

- **the exchange root and course folders are the instructor's**: the hub makes the root owned by root and the
  instructors' group, mode 2775, so no student can create a course (a fake one in everyone's Assignments tab) or
  the course's folder before the first release. nbgrader insists on a world-writable root; these classes don't;
- **inbound is sticky** (mode 3733): a student can't rename or remove a classmate's submission folder;
- **Collect** (``SafeCollect``) takes the student's identity from the Unix owner of the submission folder, never from
  its name or a ``--student`` option; the name must agree with the owner and the owner must be on the roster (the
  Unix group NBGRADER_ROSTER_GROUP, which the hub sets to its students' group); the timestamp is the server's
  clock (the newest change time of the folder and its files, which no user can set), never the name's or
  ``timestamp.txt``'s; files are copied by grading/safe_files.py's rules (regular files only, owned by the student,
  never through a link, no FIFO, device or hard link, sizes checked on the bytes read). A refused submission is
  listed (Formgrader's Collect log, and ``grades/collect_problems.json`` in the course) and the rest are collected;
- a submission folder is closed to other students as soon as it exists (``PrivateSubmit``), each feedback page is
  readable by its own student only (``PrivateReleaseFeedback``).
"""

import datetime
import fnmatch
import glob
import grp
import json
import os
import pwd
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

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")


class InstructorsRoot:
    """The exchange root belongs to root (or an instructor) and is not writable by students: nbgrader's own check
    (a root every user can write into) is replaced by one that refuses a root someone else could have planted."""

    def ensure_root(self):
        try:
            info = os.stat(self.root, follow_symlinks=False)
        except OSError:
            self.fail(f"The exchange {self.root} does not exist: the hub creates it at start (ask your instructor)")
        if not stat.S_ISDIR(info.st_mode):
            self.fail(f"The exchange {self.root} is not a folder")
        if info.st_uid not in (0, os.getuid()):
            self.fail(f"The exchange {self.root} belongs to {_user(info.st_uid)}, not to root: refusing to use it")


def _user(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class SafeReleaseAssignment(InstructorsRoot, ExchangeReleaseAssignment):
    """Release into course folders that the instructor (or root) made, never one a student made first; inbound
    gets the sticky bit, so that nobody can rename or remove another's submission."""

    def ensure_directory(self, path, mode):
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
    """

    def init_dest(self):
        self.coursedir.student_id = "*"  # the submitter is the Unix user running this, never a --student option
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
    submission). Here each page gets an ACL that lets its student read it and nobody else; on a file system without
    ACLs the page stays as nbgrader left it, and a warning says so.
    """

    def copy_files(self):
        super().copy_files()
        for page in glob.glob(os.path.join(self.src_path, "*.html")):
            folder = os.path.dirname(page)
            student = os.path.basename(os.path.dirname(folder))
            with open(os.path.join(folder, "submission_secret.txt")) as secret:
                name = notebook_hash(secret=secret.read(), notebook_id=os.path.splitext(os.path.basename(page))[0])
            released = os.path.join(self.dest_path, f"{name}.html")
            try:
                uid = pwd.getpwnam(student).pw_uid
            except KeyError:
                self.log.warning("No Unix user %s: their feedback page stays readable by name", student)
                continue
            if not readable_by_owner_and(released, uid):
                self.log.warning("No ACLs on %s: %s's feedback page stays readable by name", self.dest_path, student)


class SafeCollect(InstructorsRoot, ExchangeCollect):
    """nbgrader's collect, with the student's identity from the folder's Unix owner, the server's clock, a roster,
    and grading/safe_files.py's rules for what is copied (see the top of this file)."""

    def _roster(self):
        group = os.environ.get("NBGRADER_ROSTER_GROUP", "")
        if not group:
            return None
        try:
            entry = grp.getgrnam(group)
        except KeyError:
            self.fail(f"NBGRADER_ROSTER_GROUP names no Unix group: {group!r}")
        return set(entry.gr_mem) | {user.pw_name for user in pwd.getpwall() if user.pw_gid == entry.gr_gid}

    def _problem(self, source, kind, detail):
        self.problems.append({"source": source, "kind": kind, "detail": detail})
        self.log.warning("Not collected: %s: %s: %s", source, kind, detail)

    def init_src(self):
        # The course's own package: the course's nbgrader_config.py, loaded after this file, put it on sys.path.
        from grading import safe_files

        self.safe_files = safe_files
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        roster = self._roster()
        self.problems, latest = [], {}
        for name in sorted(os.listdir(self.inbound_path)):
            parts = name.split("+")
            if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
                continue
            path = os.path.join(self.inbound_path, name)
            info = os.stat(path, follow_symlinks=False)
            owner = _user(info.st_uid)
            if not stat.S_ISDIR(info.st_mode):
                self._problem(path, "not a folder", f"a {safe_files._kind_of(info.st_mode)} made by {owner}")
                continue
            if parts[0] != owner:
                self._problem(path, "identity", f"claims to be {parts[0]!r}'s submission but was made by {owner}")
                continue
            if not safe_files.valid_student_id(owner):
                self._problem(path, "student id", f"{owner!r} is not a valid student id")
                continue
            if roster is not None and owner not in roster:
                self._problem(path, "not on the roster", f"{owner} is not in the group "
                                                         f"{os.environ.get('NBGRADER_ROSTER_GROUP')}")
                continue
            if self.coursedir.student_id and self.coursedir.student_id not in ("*", owner):
                continue
            tree = safe_files.read_tree(path, owner=info.st_uid, ignore=self._ignored,
                                        max_file_bytes=1000 * self.coursedir.max_file_size,
                                        max_total_bytes=1000 * self.coursedir.max_dir_size)
            for refused in tree.refused:
                self._problem(os.path.join(path, refused.path), refused.kind, refused.detail)
            notebooks = [f for f in tree.files if f.endswith(".ipynb")]
            if any(r.path == "" for r in tree.refused) or not notebooks:
                if not any(r.path == "" for r in tree.refused):
                    self._problem(path, "no notebook", "nothing gradable could be copied from this submission")
                continue
            # The server's clock: the newest change time (ctime, which no user can set) of the folder and its files.
            changed = max([info.st_ctime] + [st.st_ctime for st in tree.stats.values()])
            timestamp = datetime.datetime.fromtimestamp(changed, datetime.UTC).replace(tzinfo=None)
            record = {"username": owner, "filename": name, "timestamp": timestamp, "tree": tree}
            if owner not in latest or timestamp > latest[owner]["timestamp"]:
                latest[owner] = record
        self.src_records = list(latest.values())
        self._write_problems()

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
            self.safe_files.write_tree(record["tree"].files, dest)
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
    pass


c.ExchangeFactory.release_assignment = SafeReleaseAssignment
c.ExchangeFactory.fetch_assignment = SafeFetchAssignment
c.ExchangeFactory.submit = PrivateSubmit
c.ExchangeFactory.list = SafeList
c.ExchangeFactory.collect = SafeCollect
c.ExchangeFactory.release_feedback = PrivateReleaseFeedback
c.ExchangeFactory.fetch_feedback = SafeFetchFeedback
