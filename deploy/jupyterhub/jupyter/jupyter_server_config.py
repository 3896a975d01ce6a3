"""Jupyter Server settings of every user's server on the course's JupyterHub: defence in depth for pages that show
what students made (the hub puts this folder on JUPYTER_CONFIG_PATH).

- A Content-Security-Policy on every page: no plugins, no <base> or form that sends elsewhere, and no framing by
  another origin (JupyterHub's own default is only the last). JupyterLab and Formgrader ship inline scripts of their
  own, so their pages keep inline scripts allowed; what a student wrote reaches them only sanitised
  (grading/sanitize.py) and with each user on an origin of their own (``subdomain_host``).
- Raw files (``/files/...``: a student's HTML handed in next to the notebook and collected, a feedback page) are
  served with a sandbox that runs no script at all (Jupyter's default sandbox allows scripts).
- Formgrader's own pages: its Jinja templates do not escape (a student id or a URL path that is HTML would run), so
  they are rendered with autoescaping, and a Formgrader URL whose student, assignment or notebook part is not a
  plain id is refused (400) before any template sees it.
"""

import re

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

CSP = "; ".join([
    "frame-ancestors 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
])
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

#: A plain id in a Formgrader URL: a student, an assignment, a notebook or a submission's UUID.
PLAIN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,99}")


def _harden():
    from jupyter_server.base.handlers import AuthenticatedFileHandler
    from jupyter_server.files.handlers import FilesHandler

    for handler in (AuthenticatedFileHandler, FilesHandler):
        handler.content_security_policy = property(lambda self: FILES_CSP)

    try:
        from nbgrader.server_extensions.formgrader import base, handlers
    except ImportError:  # a server without nbgrader: nothing more to do
        return
    render = base.BaseHandler.render

    def escaped_render(self, name, **ns):
        env = self.settings["nbgrader_jinja2_env"]
        if env.autoescape is not True:
            env.autoescape = True
            env.cache.clear() if env.cache is not None else None
        return render(self, name, **ns)

    base.BaseHandler.render = escaped_render
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
