"""Jupyter Server settings of every user's server on the course's JupyterHub: defence in depth for pages that show
what students made (the hub puts this folder on JUPYTER_CONFIG_PATH).

- A Content-Security-Policy on every page: no plugins, no <base> or form that sends elsewhere, no framing by another
  origin (JupyterHub's own default is only the last), and no inline script. JupyterLab's and Notebook 7's pages carry
  one inline script of their own (it removes a token from the URL): it is allowed by its sha256 hash, computed at
  start from the installed templates (if JupyterLab's page no longer has exactly that one static script, none is
  hashed: the policy fails closed, and a warning in the server's log says why); they also need 'unsafe-eval' (their
  settings registry compiles JSON schemas with ``new Function``), which runs no injected script. Formgrader's pages
  get a fresh nonce on every response, written into every ``<script>`` tag of nbgrader's own template source (never
  into what a variable brings: a student's notebook, a student id), and its five inline ``onclick`` handlers are
  allowed by hash.
- Raw files (``/files/...``: a student's HTML handed in next to the notebook and collected, a feedback page) are
  served with a sandbox that runs no script at all (Jupyter's default sandbox allows scripts).
- Formgrader's own pages: its Jinja templates do not escape (a student id or a URL path that is HTML would run), so
  they are rendered with autoescaping, and a Formgrader URL whose student, assignment or notebook part is not a
  plain id is refused (400) before any template sees it.
"""

import base64
import hashlib
import html.parser
import os
import re
import secrets

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

#: Executable script types (anything else, such as JupyterLab's ``application/json`` page config, is data).
SCRIPT_TYPES = ("", "text/javascript", "application/javascript", "module")
#: Where nbconvert's classic template (which Formgrader's submission view extends) loads MathJax 2 from; MathJax 2
#: reads its inline configuration block with eval, so that page alone also allows 'unsafe-eval'.
MATHJAX_SOURCE = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/"


class _InlineScripts(html.parser.HTMLParser):
    """The executable inline scripts of an HTML (template) source, as the browser will hash them."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.scripts, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "script":
            attrs = dict(attrs)
            executable = "src" not in attrs and (attrs.get("type") or "").strip().lower() in SCRIPT_TYPES
            self._open = [] if executable else None

    def handle_data(self, data):
        if self._open is not None:
            self._open.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._open is not None:
            self.scripts.append("".join(self._open))
        self._open = None


def inline_scripts(path):
    parser = _InlineScripts()
    with open(path, encoding="utf-8") as source:
        parser.feed(source.read())
    parser.close()
    return parser.scripts


def sha256_source(text):
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def _templated(text):
    return any(mark in text for mark in ("{{", "{%", "{#"))


def lab_script_hashes():
    """The hash of the one inline script of JupyterLab's installed page (``index.html`` in the app folder's
    ``static``). Anything else there (no script, two, one with template markup) is not hashed: the page's inline
    scripts are then all blocked (the policy fails closed) and an error says so in the server's log. (Raising here
    would not stop the server: Jupyter logs an error in a configuration file and starts without the whole file,
    every other protection of this file included.)"""
    try:
        from jupyterlab.commands import get_app_dir
    except ImportError:  # a server without JupyterLab
        return []
    page = os.path.join(get_app_dir(), "static", "index.html")
    scripts = inline_scripts(page) if os.path.isfile(page) else []
    if len(scripts) != 1 or _templated(scripts[0]) or "Remove token from URL" not in scripts[0]:
        import warnings

        warnings.warn(
            f"Content-Security-Policy: JupyterLab's page {page} was expected to carry exactly one static inline "
            f"script (the 'Remove token from URL' snippet) and carries {len(scripts)}: "
            f"{[s.strip()[:60] for s in scripts]}. All of them are blocked. Look at the new script(s), then update "
            "deploy/jupyterhub/jupyter/jupyter_server_config.py", stacklevel=1)
        return []
    return [sha256_source(scripts[0])]


def notebook_script_hashes():
    """Notebook 7's pages (/tree, /notebooks, ...) and Jupyter Server's own (login, errors): the static inline
    scripts of their templates; a script with template markup can't be hashed and stays blocked (a warning)."""
    import importlib.util
    import warnings

    hashes = set()
    for package in ("notebook", "jupyter_server"):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            continue
        folder = os.path.join(spec.submodule_search_locations[0], "templates")
        for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
            if name.endswith(".html"):
                for script in inline_scripts(os.path.join(folder, name)):
                    if _templated(script):
                        warnings.warn(f"Content-Security-Policy: the inline script of {package}'s {name} has "
                                      "template markup and stays blocked", stacklevel=1)
                    else:
                        hashes.add(sha256_source(script))
    return sorted(hashes)


def policy(*script_sources):
    return "; ".join([
        "frame-ancestors 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        # 'report-sample': a blocked inline script is reported with its first characters (the tests look for them).
        "script-src " + " ".join(("'self'",) + script_sources + ("'report-sample'",)),
    ])


LAB_SCRIPT_HASHES = lab_script_hashes()
PAGE_SCRIPT_HASHES = LAB_SCRIPT_HASHES + [h for h in notebook_script_hashes() if h not in LAB_SCRIPT_HASHES]
CSP = policy(*PAGE_SCRIPT_HASHES)
LAB_CSP = policy(*PAGE_SCRIPT_HASHES, "'unsafe-eval'")
#: Files served as they are: nothing runs, nothing is fetched from elsewhere.
FILES_CSP = "; ".join([
    "default-src 'none'",
    "img-src 'self' data:",
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "frame-ancestors 'self'",
    "sandbox",
])
c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": CSP}}

# ---- Formgrader: a nonce per response in the scripts of nbgrader's own templates --------------------------------

_SCRIPT_TAG = re.compile(r"<script\b(?![^>]*\bnonce=)", re.I)
_EVENT_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
#: The nonce of the response being rendered (set around each render; Jinja reads it through ``csp_nonce()``).
_current_nonce = [""]


def _formgrader_template_dir():
    from nbgrader.server_extensions.formgrader import handlers

    return os.path.realpath(handlers.template_path)


def _trusted_template(filename):
    """nbgrader's formgrader templates, and nbconvert's MathJax loader; never nbconvert's cell and output templates,
    which write a notebook's own JavaScript output inside a <script> tag."""
    if not filename:
        return False
    real = os.path.realpath(filename)
    return (real.startswith(_formgrader_template_dir() + os.sep)
            or os.path.basename(real) == "mathjax.html.j2" and os.sep + "base" + os.sep in real)


def onclick_hashes():
    """Hashes of the static inline event handlers (``onclick="toggle_name(true);"``) of nbgrader's templates: allowed
    with 'unsafe-hashes', so that exactly those handlers run, and no other."""
    hashes = set()
    for folder, _, files in os.walk(_formgrader_template_dir()):
        for name in files:
            with open(os.path.join(folder, name), encoding="utf-8") as source:
                for match in _EVENT_HANDLER.finditer(source.read()):
                    handler = match.group(1) if match.group(1) is not None else match.group(2)
                    if not _templated(handler):
                        hashes.add(sha256_source(handler))
    return sorted(hashes)


def nonce_loader(loader):
    """A Jinja loader that writes ``nonce="{{ csp_nonce() }}"`` into every <script> tag of a trusted template's
    source (before Jinja compiles it): what a variable brings at render time is never touched."""
    import jinja2

    class NonceLoader(jinja2.BaseLoader):
        def get_source(self, environment, template):
            source, filename, uptodate = loader.get_source(environment, template)
            if _trusted_template(filename):
                source = _SCRIPT_TAG.sub('<script nonce="{{ csp_nonce() }}"', source)
            return source, filename, uptodate

        def list_templates(self):
            return loader.list_templates()

    return NonceLoader()


def _with_nonces(environment):
    if not getattr(environment, "_course_nonces", False):
        environment.loader = nonce_loader(environment.loader)
        environment.globals["csp_nonce"] = lambda: _current_nonce[0]
        environment.cache.clear() if environment.cache is not None else None
        environment._course_nonces = True
    return environment


class _NonceRender:
    """Sets the response's nonce for the duration of one synchronous render."""

    def __init__(self, nonce):
        self.nonce = nonce

    def __enter__(self):
        self.previous, _current_nonce[0] = _current_nonce[0], self.nonce

    def __exit__(self, *exc):
        _current_nonce[0] = self.previous


#: A plain id in a Formgrader URL: a student, an assignment, a notebook or a submission's UUID.
PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


def _harden():
    from jupyter_server.base.handlers import AuthenticatedFileHandler
    from jupyter_server.files.handlers import FilesHandler

    for handler in (AuthenticatedFileHandler, FilesHandler):
        handler.content_security_policy = property(lambda self: FILES_CSP)
    # JupyterLab's and Notebook 7's pages: their settings registry compiles its JSON-schema validators (Ajv) with
    # `new Function`; without 'unsafe-eval' the settings and a dozen plugins fail to activate (seen in Chromium).
    # 'unsafe-eval' lets the page's own code evaluate strings; it lets no injected <script> or handler run.
    page_handlers = []
    try:
        from jupyterlab_server.handlers import LabHandler
        page_handlers.append(LabHandler)
    except ImportError:
        pass
    try:
        from notebook.app import NotebookBaseHandler
        page_handlers.append(NotebookBaseHandler)
    except ImportError:
        pass
    for handler in page_handlers:
        handler.content_security_policy = property(lambda self: LAB_CSP)

    try:
        from nbgrader.server_extensions.formgrader import base, handlers
    except ImportError:  # a server without nbgrader: nothing more to do
        return
    render = base.BaseHandler.render
    onclicks = onclick_hashes()

    def escaped_render(self, name, **ns):
        env = _with_nonces(self.settings["nbgrader_jinja2_env"])
        if env.autoescape is not True:
            env.autoescape = True
            env.cache.clear() if env.cache is not None else None
        with _NonceRender(self.csp_nonce):
            return render(self, name, **ns)

    def csp_nonce(self):
        if getattr(self, "_csp_nonce", None) is None:
            self._csp_nonce = secrets.token_urlsafe(18)
        return self._csp_nonce

    def formgrader_policy(self):
        extra = (MATHJAX_SOURCE, "'unsafe-eval'") if isinstance(self, handlers.SubmissionHandler) else ()
        return policy(f"'nonce-{self.csp_nonce}'", "'unsafe-hashes'", *onclicks, *extra)

    class NonceExporter:
        """Formgrader's nbconvert exporter, rendering with the response's nonce in nbgrader's own scripts."""

        def __init__(self, exporter, nonce):
            self._exporter, self._nonce = exporter, nonce

        def from_filename(self, *args, **kwargs):
            exporter = self._exporter
            if not getattr(exporter, "_course_nonces", False):
                create = exporter._create_environment
                exporter._create_environment = lambda: _with_nonces(create())
                exporter._environment_cached = None
                exporter._course_nonces = True
            with _NonceRender(self._nonce):
                return exporter.from_filename(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._exporter, name)

    base.BaseHandler.render = escaped_render
    base.BaseHandler.csp_nonce = property(csp_nonce)
    base.BaseHandler.content_security_policy = property(formgrader_policy)
    base.BaseHandler.exporter = property(lambda self: NonceExporter(self.settings["nbgrader_exporter"],
                                                                     self.csp_nonce))
    # The handlers whose URL parts are ids (the raw submission files and static files take paths, and keep them).
    for name in dir(handlers):
        cls = getattr(handlers, name)
        if (isinstance(cls, type) and issubclass(cls, base.BaseHandler)
                and cls not in (base.BaseHandler, handlers.SubmissionFilesHandler)):
            prepare = cls.prepare

            def checked_prepare(self, _prepare=prepare):
                from tornado import web

                for part in list(self.path_args) + list(self.path_kwargs.values()):
                    if part and not PLAIN_ID.fullmatch(part.strip("/")):
                        raise web.HTTPError(400, "not a plain id in the URL")
                return _prepare(self)

            cls.prepare = checked_prepare


_harden()


# ---- kernels: Unix sockets in the user's own runtime folder, not TCP ports --------------------------------------
# jupyter_client picks a kernel's five TCP ports by binding port 0, closing the socket and writing the number into
# the connection file; the kernel binds it seconds later. Every user's server does that on its own, so with a class
# starting kernels at once on a busy machine two kernels (or a kernel and any outgoing connection) can get the same
# port: the later kernel dies with "Address already in use", is restarted on the same ports five times, and its
# notebook's websocket is closed (seen with 20 students in benchmarks/hub_load.py). Unix sockets named after the
# kernel's connection file, in the user's private runtime folder, can't collide, and no other user can connect to
# them. A socket's path has at most 107 bytes: a runtime folder too long for that keeps TCP (and a warning says so).
def _kernel_transport():
    import warnings

    from jupyter_core.paths import jupyter_runtime_dir

    longest = os.path.join(jupyter_runtime_dir(), f"kernel-{'0' * 36}-ipc-99")
    if len(os.fsencode(longest)) <= 107:
        return "ipc"
    warnings.warn(f"Kernels keep TCP ports: the runtime folder {jupyter_runtime_dir()} is too long for a Unix "
                  "socket's path (107 bytes); set JUPYTER_RUNTIME_DIR to a shorter private folder", stacklevel=1)
    return "tcp"


c.KernelManager.transport = _kernel_transport()
