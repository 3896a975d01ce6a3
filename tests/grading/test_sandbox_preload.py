"""Kernels forked from the preloaded process (grading.sandbox.Zygote) get exactly the sandbox a kernel started from
scratch gets: the same user, no privileges, the same limits, environment, folder, mounts and namespaces, and
nothing of the preloaded process (its channel, its parent); and the sandbox goes with the kernel.

Each fact is read inside a real sandboxed kernel of each kind and compared between the two, and with what the
grader asked for (grading.sandbox.Limits, kernel_environment)."""

import asyncio
import json
import os
import time

import psutil
import pytest

from grading import sandbox

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="preloaded kernels are used where the grader is root")

#: Run in the kernel: what it can see of itself and its sandbox.
PROBE = r"""
import json, os, resource, sys
def readable(path):
    try:
        return open(path, 'rb').read().decode(errors='replace')
    except OSError as error:
        return error.errno
def run_dir():  # the kernel's run folder (where its connection file is): what filesystem, how big, what is in it
    folder = os.path.dirname(json.load(open(sys.argv[-1]))['ip']) if sys.argv[-1].endswith('.json') else None
    if folder is None:
        return None
    line = [l.split() for l in open('/proc/self/mountinfo') if l.split()[4] == folder]
    stat = os.statvfs(folder)
    return {'fs': line[-1][line[-1].index('-') + 1] if line else None, 'bytes': stat.f_blocks * stat.f_frsize,
            'files': sorted(os.listdir(folder))}
status = dict(l.split(':\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\t' in l)
fds = {}
for fd in os.listdir('/proc/self/fd'):
    try:
        fds[fd] = os.readlink(f'/proc/self/fd/{fd}')
    except OSError:
        pass
mounts = sorted(line.split()[4].rsplit('/run-', 1)[0] for line in open('/proc/self/mountinfo'))
limits = {name: resource.getrlimit(getattr(resource, 'RLIMIT_' + name.upper())) for name in
          ('as', 'cpu', 'nproc', 'fsize', 'core')}
print(json.dumps({
    'ids': [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())],
    'caps': [int(status[k].strip(), 16) for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb')],
    'no_new_privs': status['NoNewPrivs'].strip(), 'ppid': os.getppid(),
    'init': open('/proc/1/cmdline').read().split('\0')[0],
    'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()),
    'ns': {n: os.readlink(f'/proc/self/ns/{n}') for n in ('pid', 'mnt', 'net', 'ipc', 'uts')},
    'env': dict(os.environ), 'cwd': os.getcwd(), 'files': sorted(os.listdir('.')),
    'mounts': mounts, 'limits': limits, 'fds': fds, 'net': sorted(os.listdir('/sys/class/net'))
        if os.path.isdir('/sys/class/net') else None,
    'sklearn_loaded': 'sklearn.base' in sys.modules,
    'home_writable': os.access(os.path.expanduser('~'), os.W_OK), 'usr_writable': os.access('/usr', os.W_OK),
    'seccomp': [status['Seccomp'].strip(), status.get('Seccomp_filters', '').strip()],
    'init_environ': readable('/proc/1/environ'), 'run_dir': run_dir(),
}))
"""


def _running_as(uid, wait=5.0):
    """The processes of a user still running (not zombies waiting to be reaped), after up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        left = [p.pid for p in psutil.process_iter(["uids", "status"]) if p.info["uids"]
                and p.info["uids"].real == uid and p.info["status"] != psutil.STATUS_ZOMBIE]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


async def _probe(preload, folder):
    sandbox.SandboxedKernelManager.preload = preload
    try:
        km = sandbox.SandboxedKernelManager(kernel_name="python3")
        await km.start_kernel(cwd=str(folder))
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        lines = []
        reply = await kc.execute_interactive(
            PROBE, timeout=60,
            output_hook=lambda msg: lines.append(msg["content"].get("text", "")) if msg["msg_type"] == "stream" else None)  # noqa: E501
        assert reply["content"]["status"] == "ok", reply["content"]
        # a process the kernel starts and leaves behind, to see the sandbox go with the kernel
        await kc.execute_interactive("import subprocess\nleft = subprocess.Popen(['sleep', '300'])", timeout=30)
        outside = {p.pid: p for p in psutil.process_iter(["uids", "cmdline"])
                   if p.info["uids"] and p.info["uids"].real == km.uid}
        facts = json.loads("".join(lines))
        facts["outside"] = {"own": set(km.own_pids), "sleepers": [pid for pid, p in outside.items()
                                                                   if p.info["cmdline"][:1] == ["sleep"]],
                            "uid": km.uid, "host_pid_ns": os.readlink("/proc/self/ns/pid"),
                            "host_net_ns": os.readlink("/proc/self/ns/net"), "host_mnt_ns": os.readlink("/proc/self/ns/mnt")}  # noqa: E501
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
        facts["outside"]["after"] = _running_as(km.uid)
        return facts
    finally:
        sandbox.SandboxedKernelManager.preload = False


@pytest.fixture(scope="module")
def kernels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submission")
    os.chmod(folder, 0o755)
    (folder / "answer.txt").write_text("mine\n")
    fresh = asyncio.run(_probe(False, folder))
    preloaded = asyncio.run(_probe(True, folder))
    zygote = sandbox.Zygote._shared.process.pid
    zygote_fds = {fd: os.readlink(f"/proc/{zygote}/fd/{fd}") for fd in os.listdir(f"/proc/{zygote}/fd")}
    yield {"fresh": fresh, "preloaded": preloaded, "zygote_fds": zygote_fds}
    if sandbox.Zygote._shared is not None:
        sandbox.Zygote._shared.stop()
        sandbox.Zygote._shared = None


def test_the_preloaded_kernel_was_forked_in(kernels):
    """It really came from the preloaded process: scikit-learn was there before any cell imported it."""
    assert len(kernels["preloaded"]["outside"]["own"]) == 2, "the manager did not fork the kernel (and its waiter)"
    assert kernels["fresh"]["outside"]["own"] == set()
    assert kernels["preloaded"]["sklearn_loaded"] and not kernels["fresh"]["sklearn_loaded"]


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_no_privileges(kernels, kind):
    facts = kernels[kind]
    uid = facts["outside"]["uid"]
    assert uid >= sandbox.sandbox_uid()
    assert facts["ids"] == [uid, uid, uid, uid, []]
    assert facts["caps"] == [0, 0, 0, 0, 0], "a capability is left (inheritable, permitted, effective, bounding, ambient)"  # noqa: E501
    assert facts["no_new_privs"] == "1"
    assert not facts["usr_writable"] and facts["home_writable"]


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_namespaces_of_its_own(kernels, kind):
    facts, outside = kernels[kind], kernels[kind]["outside"]
    assert facts["ns"]["pid"] != outside["host_pid_ns"]
    assert facts["ns"]["net"] != outside["host_net_ns"]
    assert facts["ns"]["mnt"] != outside["host_mnt_ns"]
    assert facts["ppid"] == 1, "the kernel's parent is not the sandbox's init"
    assert facts["init"] == "bwrap", "process 1 of the kernel's PID namespace is not bubblewrap's"
    assert max(facts["pids"]) < 20, f"the kernel sees processes outside its sandbox: {facts['pids']}"
    assert facts["net"] in (None, ["lo"])


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_the_seccomp_filter_is_in_force(kernels, kind):
    """Mode 2 (a filter) with exactly one filter: bubblewrap's for a fresh kernel, the kernel's own when forked."""
    assert kernels[kind]["seccomp"] == ["2", "1"]


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_nothing_of_the_grader_reaches_the_kernel(kernels, kind):
    """No file of the grader's is open in the kernel: standard input is /dev/null, output and error are
    ipykernel's own pipes or /dev/null, and no other descriptor is a file (ipykernel keeps a copy of the original
    standard output: it must not be the grader's log). The sandbox's process 1 shows no environment of the
    grader's (it is root's bubblewrap: not readable at all)."""
    facts = kernels[kind]
    fds = facts["fds"]
    assert fds["0"] == "/dev/null"
    assert {fds["1"].split(":")[0], fds["2"].split(":")[0]} <= {"pipe", "/dev/null"}, fds
    files = [target for target in fds.values() if target.startswith("/") and target != "/dev/null"
             and not target.startswith(sandbox.HOME + "/.ipython/")]
    assert files == [], files
    environ = facts["init_environ"]
    assert isinstance(environ, int) or "HOME=/root" not in environ and os.environ.get("PATH", "-") not in environ


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_the_run_folder_is_a_small_tmpfs_of_its_own(kernels, kind):
    """The kernel's run folder (its sockets) is a tmpfs of sandbox.RUN_DIR_MB, holding its connection file and
    sockets only, whatever the grader's folder of the same name holds."""
    folder = kernels[kind]["run_dir"]
    assert folder["fs"] == "tmpfs" and folder["bytes"] == sandbox.RUN_DIR_MB << 20, folder
    assert set(folder["files"]) == {sandbox.CONNECTION_FILE, *(f"kernel-{n}" for n in range(1, 6))}, folder


def test_the_same_sandbox_either_way(kernels):
    fresh, preloaded = kernels["fresh"], kernels["preloaded"]
    fresh["env"].pop("OLDPWD", None)  # the shell that copies the submission changes folder
    for key in ("KMP_DUPLICATE_LIB_OK", "KMP_INIT_AT_FORK"):  # set by scikit-learn's import, preloaded
        assert preloaded["env"].pop(key) == {"KMP_DUPLICATE_LIB_OK": "True", "KMP_INIT_AT_FORK": "FALSE"}[key]
    for fact in ("env", "cwd", "files", "mounts", "limits", "net", "seccomp", "run_dir"):
        assert preloaded[fact] == fresh[fact], f"{fact} differs: {preloaded[fact]} (preloaded), {fresh[fact]} (fresh)"
    assert sandbox.kernel_environment().items() <= preloaded["env"].items()
    assert preloaded["cwd"] == sandbox.WORK and preloaded["files"] == ["answer.txt"]
    limits = sandbox.Limits()
    assert preloaded["limits"] == {"as": [limits.memory_mb << 20] * 2, "cpu": [limits.cpu_seconds] * 2,
                                   "nproc": [limits.processes] * 2, "fsize": [limits.file_mb << 20] * 2,
                                   "core": [0, 0]}


def test_nothing_of_the_preloaded_process_is_open(kernels):
    """No file descriptor but the kernel's own: no channel to the preloaded process, no file of the grader (not
    even its log: standard input is /dev/null, and output goes to ipykernel's own pipes or /dev/null)."""
    fds = kernels["preloaded"]["fds"]
    assert fds["0"] == "/dev/null"
    assert {fds["1"].split(":")[0], fds["2"].split(":")[0]} <= {"pipe", "/dev/null"}, fds
    files = [target for target in fds.values() if target.startswith("/") and target != "/dev/null"
             and not target.startswith(sandbox.HOME + "/.ipython/")]  # IPython's history of this kernel
    assert files == [], files
    kinds = {target.split(":")[0] for target in fds.values() if not target.startswith("/")}
    assert kinds <= {"socket", "anon_inode", "pipe"}, fds
    zygote = set(kernels["zygote_fds"].values()) - {"/dev/null"}
    assert zygote and not zygote & set(fds.values()), "the kernel holds a socket or file of the preloaded process"
    assert len(fds) <= len(kernels["fresh"]["fds"]) + 2, (fds, kernels["fresh"]["fds"])


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_the_sandbox_goes_with_the_kernel(kernels, kind):
    outside = kernels[kind]["outside"]
    assert outside["sleepers"], "the kernel's child process was not seen running"
    assert outside["after"] == [], f"processes of the sandbox's user outlived the kernel: {outside['after']}"


def test_a_request_for_root_is_refused(tmp_path):
    """The preloaded process itself refuses to make a kernel of a user below the sandboxes' range, even for a real
    sandbox; nothing runs in that sandbox but its waiter."""
    import subprocess

    run_dir, submission = tmp_path / "run", tmp_path / "submission"
    run_dir.mkdir()
    submission.mkdir()
    os.chmod(tmp_path, 0o755)
    uid, lock = sandbox.allocate_uid()
    box = subprocess.Popen(sandbox.command(sandbox.waiter_argv(), run_dir, submission, sandbox.Limits(), uid))
    zygote = sandbox.Zygote()
    try:
        deadline = time.monotonic() + 30
        waiter = None
        while waiter is None and time.monotonic() < deadline:
            for process in psutil.Process(box.pid).children(recursive=True):
                try:
                    if process.cmdline() == sandbox.waiter_argv():
                        waiter = process
                except psutil.Error:  # a step of the sandbox's set-up that just ended
                    pass
            time.sleep(0.01)
        assert waiter is not None, "the sandbox did not come up"
        for user in (0, os.getuid(), sandbox.sandbox_uid() - 1):
            with pytest.raises(sandbox.SandboxError, match="not a sandbox's user"):
                zygote.spawn(waiter.ppid(), user, sandbox.Limits(), ["-f", str(run_dir / "none.json")])
        assert [p.pid for p in psutil.Process(waiter.ppid()).children()] == [waiter.pid]
    finally:
        zygote.stop()
        box.kill()
        box.wait()
        lock.close()


#: Run in the kernel: replace each of its sockets with a link to a socket of the grader's machine (the bait).
HIJACK = r"""
import json, os, sys
folder = os.path.dirname(json.load(open(sys.argv[-1]))['ip'])
for name in sorted(os.listdir(folder)):
    if name.startswith('kernel-'):
        os.rename(os.path.join(folder, name), os.path.join(folder, 'old-' + name))
        os.symlink(BAIT, os.path.join(folder, name))
print(sorted(os.listdir(folder)))
"""


@pytest.mark.parametrize("kind", ["fresh", "preloaded"])
def test_the_kernel_cannot_redirect_the_graders_connections(kind, tmp_path):
    """The grader reaches the kernel's sockets through the sandbox's file system, which the kernel may change: a
    kernel that swaps its sockets for links to a socket outside (an absolute link would be followed in the grader's
    own file system) gets no connection there; a client made afterwards still talks to the real kernel."""
    import socket

    bait_path = tmp_path / "bait.sock"
    bait = socket.socket(socket.AF_UNIX)
    bait.bind(str(bait_path))
    bait.listen(8)
    bait.settimeout(0.5)
    sandbox.SandboxedKernelManager.preload = kind == "preloaded"

    async def scenario():
        km = sandbox.SandboxedKernelManager(kernel_name="python3")
        folder = tmp_path / "submission"
        folder.mkdir()
        os.chmod(tmp_path, 0o755)
        await km.start_kernel(cwd=str(folder))
        try:
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=60)
            reply = await kc.execute_interactive(f"BAIT = {str(bait_path)!r}\n" + HIJACK, timeout=30)
            assert reply["content"]["status"] == "ok", reply["content"]
            kc.stop_channels()
            fresh_client = km.client()  # connects anew, after the swap
            fresh_client.start_channels()
            await fresh_client.wait_for_ready(timeout=30)
            answer = await fresh_client.execute_interactive("print(6 * 7)", timeout=30)
            fresh_client.stop_channels()
            return answer["content"]["status"]
        finally:
            await km.shutdown_kernel(now=True)

    try:
        status = asyncio.run(scenario())
    finally:
        sandbox.SandboxedKernelManager.preload = False
    try:
        connection, _ = bait.accept()
        connection.close()
        reached = True
    except TimeoutError:
        reached = False
    bait.close()
    assert status == "ok"
    assert not reached, "the grader connected to the socket the kernel's link pointed at"
