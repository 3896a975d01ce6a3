"""nbgrader settings of every user's server on the course's JupyterHub (the hub puts this folder on
JUPYTER_CONFIG_PATH). The course's own nbgrader_config.py, which the instructors' servers load, reads the same
NBGRADER_EXCHANGE_ROOT, so the two never disagree on where the exchange is.
"""

import os

from nbgrader.exchange.default.submit import ExchangeSubmit

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


c.ExchangeFactory.submit = PrivateSubmit
