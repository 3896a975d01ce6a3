"""The kernel manager nbgrader uses (:class:`SandboxedKernelManager`: each kernel in a sandbox of its own, over IPC
sockets the grader pins) and its client (:class:`PromptKernelClient`: ready as soon as the kernel has answered)."""

import asyncio
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from . import reap, seccomp
from .bwrap import CONNECTION_FILE, bwrap_environment, command, read_info
from .common import SandboxError, as_root
from .folders import process_run_root, run_root, stage_submission
from .limits import Limits, allocate_uid
from .zygote import Zygote, waiter_argv

#: The longest path of a Unix socket (sun_path is 108 bytes with its final NUL).
SOCKET_PATH_MAX = 107


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's kernel client, but ready as soon as the kernel has answered.

    jupyter_client's own wait for a new kernel listens 0.2 s for IOPub messages after the kernel's first answer,
    and 0.2 s more when the first IOPub message was published before the client's subscription reached the
    kernel: a third of a lone submission's grading. This one asks for the kernel's info until both the reply and
    the IOPub status of that request (idle) have come, which shows IOPub connected and every message of the
    start delivered, and asks again at once when ipykernel's welcome on IOPub shows that the subscription has
    only now arrived. nbclient ignores any later message that answers no request of its own."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            request = self.kernel_info()
            reply = await self._reply_to(request, min(1.0, max(0.0, deadline - time.monotonic())))
            if reply is not None and await self._iopub_after(request, 0.2) == "idle":
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _reply_to(self, request, wait):
        end = time.monotonic() + wait
        while True:
            try:
                message = await self.shell_channel.get_msg(timeout=max(0.0, end - time.monotonic()))
            except Empty:
                return None
            if message["parent_header"].get("msg_id") == request and message["msg_type"] == "kernel_info_reply":
                return message

    async def _iopub_after(self, request, wait):
        """"idle" once the request's idle status arrives, "welcome" when the subscription is only now confirmed
        (that status may have gone before it), None when neither comes within ``wait`` seconds."""
        end = time.monotonic() + wait
        while True:
            try:
                message = await self.iopub_channel.get_msg(timeout=max(0.0, end - time.monotonic()))
            except Empty:
                return None
            if message["msg_type"] == "iopub_welcome":
                return "welcome"
            if (message["parent_header"].get("msg_id") == request and message["msg_type"] == "status"
                    and message["content"].get("execution_state") == "idle"):
                return "idle"


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts the kernel inside :func:`grading.sandbox.command`'s sandbox, over IPC sockets.

    Interrupts go over the control channel (``interrupt_mode = message``): a signal to the sandbox's outer
    process would not reach the kernel inside its own session. With ``preload`` (the autograde workers set it,
    see :func:`grading.sandbox.preload_enabled`) the kernel is forked into the sandbox from the
    :class:`grading.sandbox.Zygote`.
    """

    preload = False
    client_factory = Type(default_value=PromptKernelClient, klass=AsyncKernelClient, config=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kernel_argv = None
        self._seccomp_fd = self._info_read = self._info_write = None
        #: The processes of the sandbox's user that are the kernel's own (the waiter, the kernel), outside pids.
        self.own_pids: set[int] = set()
        self.limits = Limits.from_env()
        self.uid, self._uid_lock = allocate_uid()
        try:
            self.run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=process_run_root()))
        except FileNotFoundError:  # the folder went with another kernel of this process that just stopped
            self.run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=process_run_root()))
        self.transport = "ipc"
        self.ip = str(self.run_dir / "kernel")
        self.connection_file = str(self.run_dir / CONNECTION_FILE)
        self._submission_dir = None
        #: Set by the grader before the start: course package folders shown otherwise (see :func:`command`), and
        #: the files of the submission's folder the kernel's copy leaves out (the notebook being graded).
        self.package_overrides: dict[str, str] = {}
        self.exclude_files: set[str] = set()
        if as_root():
            os.chown(self.run_dir, self.uid, self.uid)
        os.chmod(self.run_dir, 0o700)

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    async def _async_pre_start_kernel(self, **kw):
        self.ip = str(self.run_dir / "kernel")  # the sockets' path in the sandbox (see _pin_sockets)
        self._submission_dir = stage_submission(kw.get("cwd") or os.getcwd(), self.run_dir / "submission",
                                                self.exclude_files)
        kw["cwd"] = str(self.run_dir)  # bwrap itself starts in the run folder (the kernel: in its home)
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        argv = super().format_kernel_cmd(extra_arguments)
        if as_root():  # written by the trusted side; the kernel (and no one else) may read it
            os.chown(self.connection_file, 0, self.uid)
            os.chmod(self.connection_file, 0o640)
        else:
            os.chmod(self.connection_file, 0o644)
        if self.preload and argv[1:3] == ["-m", "ipykernel_launcher"]:
            self._kernel_argv = argv[3:]
            argv = waiter_argv()
        self._close_fds()
        self._seccomp_fd = seccomp.program_fd()
        self._info_read, self._info_write = os.pipe()  # bubblewrap's report of the sandbox it made (--info-fd)
        return command(argv, self.run_dir, self._submission_dir, self.limits, self.uid, self.package_overrides,
                       seccomp_fd=self._seccomp_fd, info_fd=self._info_write)

    def _close_fds(self, launched=False):
        """Close the files passed to bubblewrap (the seccomp filter, the write end of the info pipe); unless
        ``launched``, the read end of the info pipe too."""
        names = ("_seccomp_fd", "_info_write") if launched else ("_seccomp_fd", "_info_write", "_info_read")
        for name in names:
            fd = getattr(self, name, None)
            if fd is not None:
                os.close(fd)
                setattr(self, name, None)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # bubblewrap inherits nothing of the grader: a clean environment (not the grader's, which jupyter_client
        # passes on), no standard input or output (the kernel talks over its sockets only; the grader's log is not
        # its to read or write), and no open file but its seccomp filter and the pipe it reports the sandbox on.
        kw.update(env=bwrap_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                  stderr=subprocess.DEVNULL, close_fds=True, pass_fds=(self._seccomp_fd, self._info_write))
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        except BaseException:
            self._close_fds()
            raise
        self._close_fds(launched=True)
        if not as_root():
            reap.track(self.uid, self.provisioner.pid)
        info, self._info_read = self._info_read, None
        init = await read_info(info)  # the sandbox's init (outside pid), as bubblewrap made it
        if self._kernel_argv is not None:
            import psutil

            waiter = await self._waiter(init)
            Zygote.shared().spawn(init, self.uid, self.limits, self._kernel_argv)
            self.own_pids = {waiter, *(child.pid for child in psutil.Process(init).children())}
        await self._pin_sockets(init)

    async def _waiter(self, init):
        """The waiter (outside pid), once bubblewrap has built the sandbox whose init is ``init`` and its shell has
        copied the submission and become the waiter. Nothing reports that moment, so init's children are watched
        for it."""
        import psutil

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                parent = psutil.Process(init)
                for process in parent.children():
                    # the waiter itself, not the shell that copies the submission and then becomes it
                    if process.uids().real == self.uid and process.cmdline() == waiter_argv():
                        return process.pid
                if parent.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            await asyncio.sleep(0.002)
        raise SandboxError("the sandbox of a kernel did not come up (bubblewrap stopped or took over a minute)")

    async def _pin_sockets(self, init):
        """The kernel's sockets are in the sandbox's own run folder (a tmpfs the kernel can write in; without root
        the kernel owns every folder of the sandbox). Once the kernel has made them, the grader opens each one
        through the root of the sandbox's init process, folder by folder, following no link (an absolute link
        there would be resolved in the grader's own file system), checks that it is a socket, and keeps it open;
        its clients connect through links to these open files (``/proc/self/fd/N``) in a folder of the grader's
        own. Whatever the kernel later renames or replaces in its folder, the grader only ever connects to the
        sockets the kernel made at its start."""
        import psutil

        flags = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC
        wanted = {port: f"kernel-{port}" for port in self.ports}
        deadline = time.monotonic() + 60
        while True:
            pinned = self._open_sockets(init, wanted, flags)
            if pinned is not None:
                break
            outer = psutil.Process(self.provisioner.pid) if self.provisioner.pid else None
            if (outer is None or not outer.is_running() or outer.status() == psutil.STATUS_ZOMBIE
                    or time.monotonic() > deadline):
                return  # the kernel died (or never made its sockets): jupyter_client reports it
            await asyncio.sleep(0.005)
        folder = self.run_dir / "sockets"
        folder.mkdir(mode=0o700, exist_ok=True)
        for port, fd in pinned.items():
            link = folder / f"kernel-{port}"
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(f"/proc/self/fd/{fd}", link)
        self._close_sockets()
        self._pinned = pinned
        self.ip = str(folder / "kernel")
        longest = max(len(f"{self.ip}-{port}") for port in self.ports)
        if longest > SOCKET_PATH_MAX:
            raise SandboxError(f"the kernel's socket paths are {longest} characters long, over the "
                               f"{SOCKET_PATH_MAX} a Unix socket allows: the run root {run_root()} is too deep "
                               "(set TMPDIR or XDG_RUNTIME_DIR to a shorter folder)")

    def _open_sockets(self, init, wanted, flags):
        """``{port: open file}`` of the kernel's sockets, or None while one of them is not there yet. A link, or
        anything but a folder or a socket, on the way stops the kernel's start."""
        opened = []
        try:
            try:
                current = os.open(f"/proc/{init}/root", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError:
                return None
            opened.append(current)
            for part in self.run_dir.relative_to("/").parts:
                try:
                    current = os.open(part, flags | os.O_DIRECTORY, dir_fd=current)
                except FileNotFoundError:
                    return None
                except OSError:  # a link (ENOTDIR, ELOOP) or anything else that is not a folder
                    raise SandboxError(f"the kernel replaced a folder of its run folder's path ({part}) with "
                                       "something else: it is not started") from None
                opened.append(current)
            pinned = {}
            for port, name in wanted.items():
                try:
                    fd = os.open(name, flags, dir_fd=current)
                except FileNotFoundError:
                    return None
                opened.append(fd)
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    raise SandboxError(f"the kernel's {name} is not a socket: it is not started")
                pinned[port] = fd
            for fd in pinned.values():
                opened.remove(fd)
            return pinned
        finally:
            for fd in opened:
                os.close(fd)

    def _close_sockets(self):
        for fd in getattr(self, "_pinned", {}).values():
            os.close(fd)
        self._pinned = {}

    def lock_run_dir(self) -> None:
        """Once the kernel has made its sockets, take the run folder back (defence in depth: the sandbox shows the
        kernel a tmpfs of its own at that path, never this folder)."""
        if as_root():
            os.chown(self.run_dir, 0, 0)
            os.chmod(self.run_dir, 0o711)

    async def _async_wait(self, pollinterval=0.1):
        # jupyter_client looks every 0.1 s whether a kernel asked to shut down has ended: a tenth of a second per
        # submission spent waiting on a kernel that ends within milliseconds
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        self._close_fds()
        self._close_sockets()
        if not restart:
            reap.untrack(self.uid)
            reap.kill_leftovers(self.uid)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            try:
                self.run_dir.parent.rmdir()  # the process's folder, once its last kernel is gone
            except OSError:
                pass
            self._uid_lock.close()

    cleanup_resources = _async_cleanup_resources
