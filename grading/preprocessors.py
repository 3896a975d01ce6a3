"""nbgrader preprocessors that make autograding and feedback robust (configured in nbgrader_config.py).

- :class:`ResilientExecute` runs a submission like nbgrader's ``Execute``, but a kernel that dies or hangs past its
  timeout does not abort the notebook: the cell that did it and every later code cell get an error output, so their
  tests score 0 and the rest of the notebook is still graded.
- :class:`LimitOutputSize` cuts the text output of a cell to a number of characters (nbgrader's ``LimitOutput``
  counts lines only, so one ``print`` of ten megabytes passes through it).
- :class:`HideHiddenTestTracebacks` reduces the traceback of a failing cell that holds hidden tests to its last line
  (the error and its message), so feedback never quotes the hidden code.

Every mark these leave in a notebook starts with :data:`MARK`, which is how :mod:`grading.checks` finds them.
"""

import ast
import json
import re
import secrets
import time
import uuid
from pathlib import Path
from queue import Empty

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.v4 import new_output
from traitlets import Bool, Integer

from nbconvert.preprocessors.sanitize import SanitizeHTML
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked, is_solution

from . import sandbox

#: The start of every note the grader leaves in a graded notebook.
MARK = "[grader]"
#: The ``ename`` of the errors :class:`ResilientExecute` adds.
KERNEL_DIED = "KernelDied"
KERNEL_HUNG = "KernelHung"
NOT_RUN = "NotRun"
TAMPERED = "TamperedKernel"
#: The notes :class:`SanitizeOutputs` and :class:`ResilientExecute` leave in a cell's output.
SANITIZED = "output sanitized"
LEFT_RUNNING = "processes left running"
ANSWER_KEY = "AnswerKeyUsed"
#: The comm target of the guard inside the kernel (grading/kernel_guard.py).
GUARD_TARGET = "nn_grader_guard"
GUARD_SOURCE = Path(__file__).with_name("kernel_guard.py")
#: Libraries whose functions the guard keeps as they were before any student code ran.
WATCHED = ("numpy", "sklearn", "nnlib", "IPython", "ipykernel", "comm", "jupyter_client",
           "traitlets", "zmq")
#: Where a source notebook lists what a learner may not call (the exercise's answer key).
OFF_LIMITS_KEY = ("course", "off_limits")
#: The delimiter of hidden tests (nbgrader's default, ``ClearHiddenTests.begin_test_delimeter``).
HIDDEN_TESTS = "BEGIN HIDDEN TESTS"


def _error(ename, message):
    return new_output("error", ename=ename, evalue=f"{MARK} {message}", traceback=[f"{ename}: {MARK} {message}"])


class ResilientExecute(Execute):
    """nbgrader's ``Execute``, surviving a kernel that dies or cannot be interrupted.

    - The kernel dies during a cell (``os._exit``, a segfault, a kill, running out of memory): that cell gets a
      ``KernelDied`` error.
    - A cell times out and the kernel ignores the interrupt (a loop that catches ``KeyboardInterrupt``, or ignores
      SIGINT): the kernel is shut down and the cell gets a ``KernelHung`` error.

    In both cases the later code cells are not run: each gets a ``NotRun`` error (what the student sees on *Restart
    and Run All*: after the kernel is gone nothing else runs), so every test after that point scores 0.
    """

    guard = Bool(True, help="Check the kernel before each test cell (grading/kernel_guard.py)").tag(config=True)

    def __init__(self, *args, **kwargs):
        if sandbox.enabled():
            kwargs.setdefault("kernel_manager_class", sandbox.SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources, retries=None):
        self._stopped_at = None
        self._off_limits = off_limits(nb, resources, self.config)
        return super().preprocess(nb, resources, retries)

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        lock = getattr(self.km, "lock_run_dir", None)
        if lock is not None:
            lock()
        if self.guard:
            code = (GUARD_SOURCE.read_text() + f"\ninstall({GUARD_TARGET!r}, {self._off_limits!r}, {WATCHED!r})\n"
                    "del install, TARGET\n")
            reply = await self._run_quietly(code)
            if reply is None or reply["content"]["status"] != "ok":
                content = (reply or {}).get("content", {})
                raise RuntimeError(f"the grader's guard could not be set up in the kernel: "
                                   f"{content.get('ename', 'no reply')}: {content.get('evalue', '')}")
            if await self._guard_call("snapshot") is None:
                raise RuntimeError("the grader's guard did not answer in a fresh kernel")
        return kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _async_cleanup_kernel(self):
        """Before the kernel stops: note the processes the submission started that still run (the sandbox's PID
        namespace kills them with the kernel)."""
        uid = getattr(self.km, "uid", None)
        if uid is not None and getattr(self, "nb", None) is not None:
            left = sandbox.processes_of(uid, exclude_kernel=True, own=getattr(self.km, "own_pids", ()))
            code_cells = [cell for cell in self.nb.cells if cell.cell_type == "code"]
            if left and code_cells:
                code_cells[-1].outputs.append(new_output("stream", name="stdout", text=(
                    f"\n{MARK} {LEFT_RUNNING}: {len(left)} process(es) it started were still running when the "
                    f"notebook ended ({', '.join(sorted(set(left))[:5])}); the sandbox stopped them\n")))
        await super()._async_cleanup_kernel()

    _cleanup_kernel = run_sync(_async_cleanup_kernel)

    async def _run_quietly(self, code):
        """Run code in the kernel outside the notebook (no history, no output kept); returns the reply. An error
        here must not make the kernel drop the next cell (``stop_on_error``)."""
        msg_id = self.kc.execute(code, silent=False, store_history=False, allow_stdin=False, stop_on_error=False)
        return await self.async_wait_for_reply(msg_id)

    async def _guard_call(self, action, **data):
        """Ask the guard inside the kernel (over a comm); its report, or None when it does not answer in time."""
        nonce, comm_id = secrets.token_hex(8), uuid.uuid4().hex
        self.kc.shell_channel.send(self.kc.session.msg("comm_open", {
            "comm_id": comm_id, "target_name": GUARD_TARGET, "data": {"action": action, "nonce": nonce, **data}}))
        deadline = time.monotonic() + 10
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                msg = await self.kc.iopub_channel.get_msg(timeout=remaining)
            except Empty:
                break
            if msg["msg_type"] == "comm_msg" and msg["content"].get("comm_id") == comm_id:
                report = msg["content"].get("data", {})
                return report if report.get("nonce") == nonce else None
        return None

    async def _async_check_kernel(self, after=False):
        """What is wrong with the kernel before or after a test cell: ``(tampered, answer_key)`` lists. Before it,
        callbacks of matplotlib's inline backend are taken off for the test; after it, they are put back."""
        report = await self._guard_call("check", resume=after)
        if report is None:
            return ["the grader's guard in the kernel no longer answers"], []
        tampered = [f"changed {', '.join(report['restored'][:8])}"
                    + (f" and {len(report['restored']) - 8} more" if len(report["restored"]) > 8 else "")
                    + " (put back)"] if report["restored"] else []
        probe = secrets.token_hex(8)
        reply = await self._run_quietly(f"raise AssertionError({probe!r})")
        content = (reply or {}).get("content", {})
        if content.get("status") != "error" or probe not in str(content.get("evalue", "")):
            tampered.append("an error raised in the kernel did not come back as an error")
        return tampered, report["answer_key"]

    _check_kernel = run_sync(_async_check_kernel)
    _guard_snapshot = run_sync(_guard_call)

    def preprocess_cell(self, cell, resources, index):
        if self._stopped_at is not None:
            if cell.cell_type == "code":
                cell.outputs = [_error(NOT_RUN, f"not run: the kernel stopped in {self._stopped_at}")]
            return cell, resources
        test = cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)
        try:
            if not (self.guard and test):
                cell, resources = super().preprocess_cell(cell, resources, index)
                if self.guard and cell.cell_type == "code" and is_locked(cell) and not is_solution(cell):
                    self._guard_snapshot("snapshot", names=assigned_names(cell.source))
                return cell, resources
            tampered, used = self._check_kernel()
            cell, resources = super().preprocess_cell(cell, resources, index)
            tampered_after, used_after = self._check_kernel(after=True)
            used = sorted(set(used) | set(used_after))
            if tampered or tampered_after:  # before it, or while it ran (the answers it called)
                cell.outputs.append(_error(TAMPERED, "this test scored 0: it ran in a tampered kernel: "
                                                      + "; ".join(tampered + tampered_after)))
            if used:
                cell.outputs.append(_error(ANSWER_KEY, "this test scored 0: the answer called "
                                                        + ", ".join(used) + ", the answer key (write it yourself)"))
            return cell, resources
        except DeadKernelError:
            self._stop(cell, index, KERNEL_DIED, "the Python kernel died while running this cell "
                       "(os._exit, a crash, a kill or running out of memory)")
        except CellTimeoutError:
            self._stop(cell, index, KERNEL_HUNG, f"this cell ran past the time limit ({self.timeout} s) and did not "
                       "stop when interrupted, so the kernel was shut down")
        return cell, resources

    def _stop(self, cell, index, ename, message):
        self.log.warning("Cell %d: %s", index, message)
        cell.outputs.append(_error(ename, message))
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        self._stopped_at = f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")
        try:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as error:  # the kernel may already be gone; the cleanup copes either way
            self.log.warning("Stopping the kernel: %s", error)


class LearnerExecute(ResilientExecute):
    """``make validate``: the learner's notebook with the guard, in the sandbox where one can be set up; where not
    (a learner's own computer without bubblewrap) it runs as it always did: it is the learner's own code."""

    def __init__(self, *args, **kwargs):
        if sandbox.enabled() and not sandbox.usable():
            from jupyter_client.manager import AsyncKernelManager

            kwargs.setdefault("kernel_manager_class", AsyncKernelManager)
        super().__init__(*args, **kwargs)


def assigned_names(source):
    """The names a cell binds at its top level (imports, definitions, assignments)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"]
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    return names


def off_limits(nb, resources, config):
    """The exercise's answer key: the dotted names listed in its *source* notebook's metadata (a submission's own
    metadata is the student's to edit, so it is only read when there is no source, as in validate)."""
    source = None
    info = (resources or {}).get("nbgrader", {})
    try:
        root, folder = config.CourseDirectory.root, config.CourseDirectory.source_directory
        if info.get("assignment") and info.get("notebook") and isinstance(root, str) and isinstance(folder, str):
            path = Path(root) / folder / info["assignment"] / f"{info['notebook']}.ipynb"
            if path.is_file():
                source = json.loads(path.read_text()).get("metadata", {})
    except (AttributeError, TypeError, ValueError):
        source = None
    metadata = source if source is not None else dict(nb.metadata)
    for key in OFF_LIMITS_KEY:
        metadata = metadata.get(key, {}) if isinstance(metadata, dict) else {}
    return [str(name) for name in metadata] if isinstance(metadata, list) else []


class LimitOutputSize(NbGraderPreprocessor):
    """Keep at most ``max_chars`` characters of text output per code cell (images and other data are not cut)."""

    max_chars = Integer(20000, help="Characters of text output kept per cell (-1: no limit)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if self.max_chars < 0 or cell.cell_type != "code":
            return cell, resources
        budget, cut = self.max_chars, 0
        for output in cell.outputs:
            if output.output_type == "stream":
                text = output.text
                output.text, budget = text[:max(budget, 0)], budget - len(text)
                cut += len(text) - len(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                for mime, value in output.data.items():
                    if mime.startswith("text/") or mime.endswith("json"):
                        text = value if isinstance(value, str) else str(value)
                        if len(text) > max(budget, 0):
                            output.data[mime] = text[:max(budget, 0)] if mime.startswith("text/") else {}
                            cut += len(text) - max(budget, 0)
                        budget -= min(len(text), max(budget, 0))
        if cut:
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and not o.text)]
            cell.outputs.append(new_output("stream", name="stdout", text=(
                f"\n{MARK} output cut: {cut} characters not shown (at most {self.max_chars} are kept per cell)\n")))
        return cell, resources


#: What makes an output active: a script, a frame or form, an event handler, a javascript: link, or a kind of output
#: that holds script (JavaScript, SVG).
ACTIVE_HTML = re.compile(r"<\s*(script|iframe|object|embed|form|meta|link|base)\b|<[^>]*(\son[a-z]+\s*=|javascript:)",
                         re.I)
ACTIVE_TYPES = ("application/javascript", "text/javascript", "image/svg+xml")


def _is_active(output):
    data = output.get("data", {}) if output.get("output_type") in ("display_data", "execute_result") else {}
    return any(mime in data for mime in ACTIVE_TYPES) or any(
        ACTIVE_HTML.search(value if isinstance(value, str) else "".join(value))
        for mime, value in data.items() if mime in ("text/html", "text/markdown"))


class SanitizeOutputs(SanitizeHTML):
    """nbconvert's ``SanitizeHTML`` (bleach) on every cell, leaving a note where it removed something.

    Run in autograde, so that the autograded notebook (what Formgrader shows) and the feedback page built from it
    hold no script, event handler or other active content from a submission: HTML and Markdown keep only harmless
    tags and attributes, JavaScript, SVG and widget outputs are dropped, images and text stay.
    """

    enabled = Bool(True, help="Sanitize (nbconvert's own SanitizeHTML is off unless enabled)").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        active = cell.cell_type == "code" and any(_is_active(output) for output in cell.get("outputs", []))
        cell, resources = super().preprocess_cell(cell, resources, index)
        if active:
            cell.outputs.append(new_output("stream", name="stdout", text=(
                f"\n{MARK} {SANITIZED}: active content (scripts, event handlers, JavaScript or SVG) was removed "
                "from this cell's output\n")))
        return cell, resources


class HideHiddenTestTracebacks(NbGraderPreprocessor):
    """In a cell that holds hidden tests, reduce each error's traceback to ``ename: evalue``.

    A failing assert's traceback quotes the lines around it; for a hidden test those are the hidden code. The
    visible asserts say what is wrong in their message, which is kept. Runs before ``ClearHiddenTests``.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and HIDDEN_TESTS in cell.source:
            for output in cell.outputs:
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}",
                                        "(The rest of this error is not shown: this cell also holds hidden tests.)"]
        return cell, resources
