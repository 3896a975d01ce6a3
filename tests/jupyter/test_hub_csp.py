"""The Content-Security-Policy of the users' servers on the course's hub, through a real hub (tests/hub_utils.py's
HubClass: real Unix users, the shipped deploy/jupyterhub/) and Debian's Chromium.

deploy/jupyterhub/jupyter/jupyter_server_config.py allows no inline script: JupyterLab's page carries the hash of
its one inline script, Formgrader's pages a fresh nonce that only nbgrader's own template scripts carry. Checked:

1. the headers: no 'unsafe-inline' in script-src; every executable inline script of the served Lab page matches a
   hash of the policy (hashed here, from the page as served); every script of a Formgrader page carries the
   response's nonce, and the nonce changes from one response to the next;
2. the pages work under it in Chromium, with no CSP violation: JupyterLab opens a notebook and runs a cell, the
   nbgrader Assignment List opens; Formgrader's Manage Assignments lists the course's exercises (drawn by its
   JavaScript); Formgrader's submission view initialises its grading code;
3. canaries: an inline script added to the Lab page, a script in a trusted HTML output of a cell run in Lab, and a
   submission whose notebook carries script that the sanitiser would have removed (a JavaScript output, an HTML
   output with a script), opened in Formgrader: none of them runs, and Chromium reports each.

Another hub test may run on the machine at the same time (tests/jupyter/test_hub.py): this module
waits until no other hub
runs before it starts its own.
"""

import base64
import hashlib
import html.parser
import json
import os
import pwd
import re
import subprocess
import time
import urllib.request

import browser_utils as bu
import hub_utils as hu
import nbformat
import pytest

pytestmark = pytest.mark.timeout(900)

ASSIGNMENT, NOTEBOOK = "csp1", "csp_notebook"
#: Processes of another hub test: a hub, a user's server, the proxy.
OTHER_HUB = r"(-m jupyterhub( |$))|jupyterhub\.singleuser|configurable-http-proxy"
OTHER_HUB_WAIT = 20 * 60


def wait_for_other_hubs():
    """Wait (at most OTHER_HUB_WAIT seconds) until no other hub runs on this machine: two hub tests at once would
    share ports and the machine's users."""
    deadline = time.monotonic() + OTHER_HUB_WAIT
    while True:
        found = subprocess.run(["pgrep", "-f", OTHER_HUB], capture_output=True, text=True).stdout.split()
        found = [pid for pid in found if int(pid) != os.getpid()]
        if not found:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"another hub still runs after {OTHER_HUB_WAIT} s (PIDs {found})")
        time.sleep(5)


@pytest.fixture(scope="module")
def hub():
    missing = hu.missing_requirements()
    if missing:
        reason = "the hub's CSP test cannot run: " + "; ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with hu.one_hub_at_a_time():
        wait_for_other_hubs()
        yield from _hub()


def _hub():
    hub = hu.HubClass(students=1)
    try:
        hub.setup()
        hub.start_hub()
        for user in (hub.instructor, *hub.students):
            hub.login(user)
            hub.start_server(user)
        yield hub
    finally:
        forced = hub.close()
        hu.users_processes_end(hub.uids)
        assert not hub.base_dir.exists(), f"{hub.base_dir} not removed"
        assert not forced, "clean-up had to force: " + "; ".join(forced)


#: Run in the instructor's kernel: a gradebook with one assignment, one student and that student's submission, whose
#: autograded notebook carries script that the course's sanitiser would have removed (as if it had been bypassed).
SUBMISSION = r"""
import json, os, warnings
warnings.simplefilter("ignore")  # nbgrader's SQLAlchemy warnings would come after the printed id
import nbformat
from nbgrader.api import Gradebook
v4 = nbformat.v4
course = os.path.expanduser("~/course")
nb = v4.new_notebook()
nb.cells.append(v4.new_markdown_cell("Visible: the student's answer."))
code = v4.new_code_cell("1", execution_count=1)
code.outputs = [
    v4.new_output("display_data", data={"application/javascript": "window.__pwned.push('js-output')"}),
    v4.new_output("display_data", data={"text/html": "<script>window.__pwned.push('html-output')</script>"})]
nb.cells.append(code)
folder = os.path.join(course, "autograded", STUDENT, ASSIGNMENT)
os.makedirs(folder, exist_ok=True)
nbformat.write(nb, os.path.join(folder, NOTEBOOK + ".ipynb"))
with Gradebook("sqlite:///" + os.path.join(course, "gradebook.db"), course_id=COURSE) as gb:
    gb.add_assignment(ASSIGNMENT)
    gb.add_notebook(NOTEBOOK, ASSIGNMENT)
    gb.add_student(STUDENT)
    gb.add_submission(ASSIGNMENT, STUDENT)
    print(json.dumps(gb.find_submission_notebook(NOTEBOOK, ASSIGNMENT, STUDENT).id))
"""


@pytest.fixture(scope="module")
def submission(hub):
    """The id of the hostile submission in the instructor's gradebook."""
    kernel = hub.sessions[hub.instructor].kernel()
    try:
        code = (f"STUDENT, ASSIGNMENT, NOTEBOOK, COURSE = {hub.students[0]!r}, {ASSIGNMENT!r}, {NOTEBOOK!r}, "
                f"{hu.COURSE_ID!r}\n" + SUBMISSION)
        return kernel.run_json(code)
    finally:
        kernel.close()


def get(hub, user, path):
    """(headers, body) of a page of ``user``'s server, with their token."""
    client = hub.sessions[user]
    request = urllib.request.Request(client.url(path), headers={"Authorization": f"token {client.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.headers, response.read().decode()


def script_src(policy):
    for directive in policy.split(";"):
        name, *values = directive.split()
        if name == "script-src":
            return values
    raise AssertionError(f"no script-src in {policy!r}")


class Scripts(html.parser.HTMLParser):
    """Every <script> tag of a page: (attributes, text)."""

    def __init__(self, page):
        super().__init__(convert_charrefs=False)
        self.tags, self._open = [], None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            self._open = (dict(attrs), [])

    def handle_data(self, data):
        if self._open:
            self._open[1].append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open:
            self.tags.append((self._open[0], "".join(self._open[1])))
            self._open = None


def test_lab_page_allows_its_own_inline_script_by_hash_only(hub):
    student = hub.students[0]
    headers, page = get(hub, student, f"/user/{student}/lab")
    sources = script_src(headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in sources, sources
    # JupyterLab's settings registry compiles JSON schemas with `new Function` (Ajv): Lab needs 'unsafe-eval'.
    assert "'unsafe-eval'" in sources, sources
    # Any other page of the server (here the API's) allows neither.
    api_sources = script_src(get(hub, student, f"/user/{student}/api/status")[0]["Content-Security-Policy"])
    assert "'unsafe-inline'" not in api_sources and "'unsafe-eval'" not in api_sources, api_sources
    inline = [text for attrs, text in Scripts(page).tags
              if "src" not in attrs and attrs.get("type", "text/javascript") in ("text/javascript", "module")]
    assert len(inline) == 1 and "Remove token from URL" in inline[0], inline
    digest = "'sha256-" + base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode() + "'"
    assert digest in sources, (digest, sources)


def test_formgrader_pages_carry_a_fresh_nonce_on_every_script(hub, submission):
    base = f"/user/{hub.instructor}/formgrader"
    nonces = []
    for path in (f"{base}/manage_assignments", f"{base}/manage_assignments", f"{base}/submissions/{submission}/"):
        headers, page = get(hub, hub.instructor, path)
        sources = script_src(headers["Content-Security-Policy"])
        assert "'unsafe-inline'" not in sources, (path, sources)
        nonce = [s for s in sources if s.startswith("'nonce-")]
        assert len(nonce) == 1, (path, sources)
        nonces.append(nonce[0][len("'nonce-"):-1])
        tags = Scripts(page).tags
        own = [attrs for attrs, text in tags if "__pwned" not in text]
        assert own and all(attrs.get("nonce") == nonces[-1] for attrs in own), (path, own)
        if "submissions" in path:  # the student's scripts are in the page, and carry no nonce
            hostile = [attrs for attrs, text in tags if "__pwned" in text]
            assert len(hostile) >= 2 and not any("nonce" in attrs for attrs in hostile), hostile
            assert "'unsafe-eval'" in sources  # MathJax 2's inline configuration (see the configuration file)
        else:
            assert "'unsafe-eval'" not in sources, (path, sources)
    assert len(set(nonces)) == len(nonces), f"a nonce was used twice: {nonces}"


# ---- in Chromium --------------------------------------------------------------------------------------------

#: Collects every CSP violation the page reports (in every frame) and gives the canaries somewhere to write.
WATCH = """
window.__pwned = window.__pwned || [];
window.__csp = window.__csp || [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
    {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample}));
"""


def violations(page, console):
    reported = page.evaluate("window.__csp.slice()")
    return reported + [text for text in console if "Content Security Policy" in text]


def shut_down_kernels(hub, user):
    """Shut down the kernels that the browser started in ``user``'s server, and wait until their processes are gone
    (the hub's clean-up would otherwise find them still running)."""
    client = hub.sessions[user]
    kernels = client.ok("GET", client.server("/api/kernels"))
    for kernel in kernels:
        client.request("DELETE", client.server(f"/api/kernels/{kernel['id']}"))
    uid = pwd.getpwnam(user).pw_uid

    def kernels_left():
        left = []
        for pid in hu.pids_of({uid}):
            try:
                if b"ipykernel" in open(f"/proc/{pid}/cmdline", "rb").read():
                    left.append(pid)
            except OSError:
                pass
        return left

    hu.wait_for(lambda: not kernels_left(), 60, f"{user}'s kernels to stop")


@pytest.fixture(scope="module")
def browser():
    yield from bu.chromium()


def test_jupyterlab_works_and_runs_no_inline_script(hub, browser):
    bu.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    student = hub.students[0]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    context.add_init_script(WATCH)
    console = []
    # A notebook of the student's own, with a kernel chosen (no dialog), opened by its Lab URL.
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    hub.sessions[student].write_notebook("csp.ipynb", notebook)
    page = None
    try:
        page = hu.browser_login(context, hub, student)
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{hu.user_origin(hub.url, student)}/user/{student}/lab/tree/csp.ipynb")
        page.locator(".jp-LabShell").wait_for()
        cell = page.locator(".jp-Notebook .jp-Cell").first
        cell.wait_for()
        # The kernel first (a cell run before the kernel is connected may be dropped), then the cell.
        page.get_by_text(re.compile(r"\| Idle")).first.wait_for(timeout=120_000)
        cell.locator(".cm-content").click()
        page.keyboard.insert_text("print(6 * 7)")
        page.keyboard.press("Shift+Enter")
        output = page.locator(".jp-OutputArea-output", has_text="42").first
        for attempt in range(3):
            try:
                output.wait_for(timeout=40_000)
                break
            except Exception:  # noqa: BLE001 (not run: run it again, in place)
                if attempt == 2:
                    raise
                cell.locator(".cm-content").click()
                page.keyboard.press("Control+Enter")
        # nbgrader's JupyterLab extensions: the notebook's Validate button, and the Assignments tab, which asks the
        # server for the courses.
        page.locator(".jp-NotebookPanel-toolbar", has_text="Validate").first.wait_for()
        page.get_by_role("menuitem", name="Nbgrader").click()
        page.get_by_role("menuitem", name="Assignment List").click()
        page.locator(".lm-Widget", has_text="Released, downloaded, and submitted assignments").last.wait_for()
        page.wait_for_timeout(1000)
        clean = violations(page, console)
        page.screenshot(path=str(bu.SCREENSHOTS / "hub-csp-lab.png"))

        # Canary 1: a script element added to the Lab page (as an injection into the DOM would) does not run.
        page.evaluate("""() => { const s = document.createElement('script');
                                 s.textContent = "window.__pwned.push('injected-inline')";
                                 document.body.appendChild(s); }""")
        # Canary 2: a trusted HTML output with a script (JupyterLab runs those where inline script is allowed).
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="csp.ipynb").first.click()
        last = page.locator(".jp-Notebook").first.locator(".jp-Cell").last
        last.locator(".cm-content").click()
        page.keyboard.insert_text("from IPython.display import HTML; HTML(\"<b id='canary-output'>shown</b>"
                                  "<script>window.__pwned.push('html-output')</script>\")")
        page.keyboard.press("Shift+Enter")
        page.locator("#canary-output").wait_for(timeout=120_000)  # the control: the output is shown
        page.wait_for_timeout(1000)
        pushed = page.evaluate("window.__pwned.slice()")
        blocked = violations(page, console)
    except Exception:
        if page is not None:  # what the page showed and reported, for the person reading the failure
            page.screenshot(path=str(bu.SCREENSHOTS / "hub-csp-lab-failed.png"))
            print("console:", [text[:300] for text in console][:10],
                  "\nviolations:", page.evaluate("window.__csp || []"))
        raise
    finally:
        context.close()
        shut_down_kernels(hub, student)
    assert clean == [], f"CSP violations while JupyterLab was used normally: {clean}"
    assert pushed == [], f"an inline script ran on JupyterLab's page: {pushed}"
    samples = json.dumps(blocked)
    assert "injected-inline" in samples and "html-output" in samples, f"the canaries were not reported: {blocked}"


MATHJAX = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/"
MATHJAX_STUB = """window.MathJax = {loaded: false, Hub: {Config() {}, Queue() {}, Startup: {signal: {Interest() {}}}}};
window.__mathjax_stub = true;"""


def test_formgrader_works_and_runs_no_student_script(hub, submission, browser):
    bu.SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    formgrader = f"{hu.user_origin(hub.url, hub.instructor)}/user/{hub.instructor}/formgrader"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    context.add_init_script(WATCH)
    # MathJax 2 comes from its CDN, out of reach here: the same address answers with a stand-in (Formgrader's grading
    # code calls MathJax while it starts). The policy must let that address run, as it will the real MathJax.
    context.route(f"{MATHJAX}**", lambda route: route.fulfill(content_type="text/javascript", body=MATHJAX_STUB))
    console = []
    page = None
    try:
        hu.browser_login(context, hub, hub.instructor).close()
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        # Manage Assignments: the table is drawn by Formgrader's JavaScript from its API.
        page.goto(f"{formgrader}/manage_assignments")
        page.locator("#main-table", has_text="ex01_perceptron").wait_for()  # from the course's source/ folder
        # nbgrader's inline onclick (allowed by its hash): the dialog for a new assignment opens.
        page.get_by_role("link", name="Add new assignment...").click()
        page.locator("#add-assignment-modal", has_text="Add New Assignment").wait_for()
        page.wait_for_timeout(500)
        manage = violations(page, console)
        # The submission view: its grading code starts (nonce'd scripts), the student's scripts do not run.
        console.clear()
        page.goto(f"{formgrader}/submissions/{submission}/", wait_until="load")
        page.get_by_text("Visible: the student's answer.").wait_for()
        page.wait_for_function("window.__mathjax_stub === true && window.formgrader.loaded === true")
        # An inline onclick of nbgrader's own (show the student's name): allowed by its hash.
        page.locator("span.glyphicon.name-hidden").dispatch_event("click")
        page.wait_for_timeout(500)
        shown = page.locator("a.name-shown").first.is_visible()
        pushed = page.evaluate("window.__pwned.slice()")
        submission_violations = violations(page, console)
        page.screenshot(path=str(bu.SCREENSHOTS / "hub-csp-formgrade.png"), full_page=True)
    except Exception:
        if page is not None:  # what the page showed and reported, for the person reading the failure
            page.screenshot(path=str(bu.SCREENSHOTS / "hub-csp-formgrade-failed.png"))
            print("console:", [text[:300] for text in console][:10],
                  "\nviolations:", page.evaluate("window.__csp || []"))
        raise
    finally:
        context.close()
    assert manage == [], f"CSP violations on Manage Assignments: {manage}"
    assert shown, "nbgrader's onclick handler (show the student's name) did not run"
    assert pushed == [], f"a student's script ran in Formgrader: {pushed}"
    samples = json.dumps(submission_violations)
    # Canary: each of the student's scripts was stopped by the policy (Chromium reports it), and nothing else was.
    assert "html-output" in samples and "var element" in samples, submission_violations
    # (nbconvert wraps a JavaScript output in a script that starts with `var element = ...`; console lines are the
    # same violations in words.)
    others = [v for v in submission_violations if not isinstance(v, str)
              and "__pwned" not in v["sample"] and "var element" not in v["sample"]]
    assert others == [], f"CSP violations besides the student's scripts: {others}"
