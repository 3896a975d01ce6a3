"""nbgrader settings of every user's server on the course's JupyterHub (the hub puts this folder on
JUPYTER_CONFIG_PATH). The course's own nbgrader_config.py, which the instructors' servers load, reads the same
NBGRADER_EXCHANGE_ROOT, so the two never disagree on where the exchange is.
"""

import glob
import os
import pwd
import struct

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import notebook_hash

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, with the submission's folder closed to everyone but its student and the instructors.

    Stock nbgrader leaves each submission folder in ``inbound/`` mode 777 (its files 644): it is hidden only by its
    name, and anyone who learns the name can read or replace a classmate's work. The course's inbound folder is
    setgid with the instructors' group (the hub's exchange is, and the instructor's primary group is that group),
    so each submission folder is made with that group; here it becomes 770 as soon as it is copied, and again after
    each of nbgrader's own permission changes. Other students cannot enter it; the instructors' collect can.
    """

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


class PrivateReleaseFeedback(ExchangeReleaseFeedback):
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


c.ExchangeFactory.submit = PrivateSubmit
c.ExchangeFactory.release_feedback = PrivateReleaseFeedback
