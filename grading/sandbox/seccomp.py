"""The system calls a graded kernel may not make: a seccomp filter on every sandbox (flatpak's practice with
bubblewrap), built with libseccomp (``pyseccomp``).

The filter allows by default and refuses, with ``EPERM``, what a notebook never needs and an attacker would:
debugging other processes (``ptrace``, ``process_vm_readv``/``writev``, ``pidfd_getfd``, ``kcmp``), the kernel
interfaces with a history of privilege escalations (``perf_event_open``, ``bpf``, ``userfaultfd``, ``io_uring``,
the key rings), mounts and namespaces (``mount`` and the new mount API, ``pivot_root``, ``chroot``, ``unshare``,
``setns``, ``clone`` with a namespace flag), the machine's own controls (modules, ``kexec``, ``reboot``, swap,
accounting, quotas, the clock, the host name, ``syslog``), personalities other than Linux's (no turning off address
randomisation), becoming root (``setuid(0)`` and the like, even in a user namespace), pushing characters into a
terminal (``TIOCSTI``, ``TIOCLINUX``) and socket families other than
Unix, IP and netlink (``AF_VSOCK`` would reach the hypervisor, ``AF_PACKET`` raw frames). ``clone3`` answers
``ENOSYS``, so that the C library falls back to ``clone``, whose flags the filter can see. System calls of another
architecture (the 32-bit ``int 0x80`` gate, x32) all answer ``ENOSYS``: a deny-list only holds for the
architecture it was written for.

The same compiled program (:func:`program`) goes to both kinds of kernel: bubblewrap loads it (``--seccomp FD``,
:func:`program_fd`) for a kernel it starts, and a kernel forked from the preloaded process loads it itself, after
``no_new_privs`` and before any student code (zygote_server.py).
"""

import errno
import functools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyseccomp

#: Refused with EPERM whatever their arguments.
DENIED = (
    # other processes' memory and files
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "process_mrelease", "pidfd_getfd", "kcmp",
    # kernel interfaces a notebook never needs, with a record of local privilege escalations
    "perf_event_open", "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "keyctl", "add_key", "request_key", "fanotify_init", "open_by_handle_at", "modify_ldt", "iopl", "ioperm",
    "uselib", "lookup_dcookie", "nfsservctl", "vhangup", "syslog", "_sysctl", "sysfs", "ustat",
    "move_pages", "migrate_pages",
    # mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr", "unshare", "setns",
    # the machine's own controls
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "sethostname", "setdomainname",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
)
#: clone() flags that make a namespace: refused (``unshare -U``, a user namespace to gain root's rights in).
NAMESPACE_FLAGS = {"CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
                   "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
                   "CLONE_NEWNET": 0x40000000}
#: System calls that change user or group ids, and which of their arguments are ids: none may become 0 (root).
TO_ROOT = {"setuid": (0,), "setgid": (0,), "setfsuid": (0,), "setfsgid": (0,), "setreuid": (0, 1),
           "setregid": (0, 1), "setresuid": (0, 1, 2), "setresgid": (0, 1, 2)}
#: ioctl() requests refused: pushing input into a terminal.
IOCTLS = {"TIOCSTI": 0x5412, "TIOCLINUX": 0x541C}
#: Socket families allowed (all others answer EAFNOSUPPORT): AF_UNIX, AF_INET, AF_INET6, AF_NETLINK.
SOCKET_FAMILIES = (1, 2, 10, 16)
AF_MAX = 64


class SeccompError(RuntimeError):
    """The filter cannot be built (libseccomp missing or too old): grading stops."""


def _library():
    try:
        import pyseccomp
    except (ImportError, RuntimeError) as error:  # pyseccomp raises RuntimeError when libseccomp is missing
        raise SeccompError(f"the seccomp filter cannot be built ({error}): install libseccomp "
                           "(`apt-get install -y libseccomp2`) and the course's requirements (pyseccomp)") from None
    return pyseccomp


def build() -> "pyseccomp.SyscallFilter":
    """The filter, as a ``pyseccomp.SyscallFilter`` for the machine's own architecture."""
    sc = _library()
    eperm = sc.ERRNO(errno.EPERM)
    f = sc.SyscallFilter(sc.ALLOW)
    f.set_attr(sc.Attr.ACT_BADARCH, sc.ERRNO(errno.ENOSYS))
    for name in DENIED:
        try:
            f.add_rule(eperm, name)
        except (OSError, ValueError):  # not a system call of this architecture (create_module on arm64, say)
            continue
    for flag in NAMESPACE_FLAGS.values():
        f.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    f.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    # becoming root: refused with EPERM, in a user namespace too (where it would answer EINVAL); ids are 32 bits
    for name, positions in TO_ROOT.items():
        for position in positions:
            f.add_rule(eperm, name, sc.Arg(position, sc.MASKED_EQ, 0xFFFFFFFF, 0))
    # personality: refused unless the kernel's 32 bits of its argument are all 0 (Linux's own) or all 1 (the query).
    # A rule compares an argument once, so: refused when any two neighbouring bits (in a circle) differ, which is
    # exactly when the bits are neither all 0 nor all 1.
    for bit in range(32):
        pair = (1 << bit) | (1 << (bit + 1) % 32)
        for value in (1 << bit, 1 << (bit + 1) % 32):
            f.add_rule(eperm, "personality", sc.Arg(0, sc.MASKED_EQ, pair, value))
    for request in IOCTLS.values():
        f.add_rule(eperm, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, request))
    for family in range(AF_MAX):
        if family not in SOCKET_FAMILIES:
            f.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.EQ, family, 0))
    f.add_rule(sc.ERRNO(errno.EAFNOSUPPORT), "socket", sc.Arg(0, sc.GE, AF_MAX, 0))
    return f


@functools.lru_cache(maxsize=1)
def program() -> bytes:
    """The compiled filter (classic BPF, the form bubblewrap's ``--seccomp`` and ``prctl`` take), built once."""
    import tempfile

    with tempfile.TemporaryFile() as handle:
        build().export_bpf(handle)
        handle.seek(0)
        data = handle.read()
    if not data or len(data) % 8:
        raise SeccompError(f"libseccomp gave a filter of {len(data)} bytes, not a BPF program")
    return data


def program_fd() -> int:
    """A file descriptor holding :func:`program` from its start (a memory file), for ``bwrap --seccomp FD``; the
    caller passes it to bubblewrap and closes it."""
    data = program()
    fd = os.memfd_create("nn-grading-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd
