"""Formgrader's own pages on the course's hub (deploy/jupyterhub/jupyter/jupyter_server_config.py): its Jinja
templates do not escape, so a student id that is HTML, or one reflected from a URL, would close Formgrader's inline
script. Rendered here with the hub's settings and without them (the canary), with the id an attacker would use.
tests/jupyter/test_hub.py checks the same in Chromium through a real hub (a Formgrader URL with a script for an
id answers 400 and runs nothing).
"""

from pathlib import Path
from types import SimpleNamespace

import pytest
from jinja2 import Environment, FileSystemLoader
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "jupyterhub" / "jupyter" / "jupyter_server_config.py"
EVIL = '";window.__pwned.push("reflected");"</script><script>window.__pwned.push("tag")</script>'


@pytest.fixture
def hub_settings():
    """The hub's server settings applied (they patch Formgrader's handlers), and undone afterwards."""
    from jupyter_server.base.handlers import AuthenticatedFileHandler
    from jupyter_server.files.handlers import FilesHandler
    from nbgrader.server_extensions.formgrader import base, handlers

    classes = [base.BaseHandler, AuthenticatedFileHandler, FilesHandler,
               *[c for c in vars(handlers).values() if isinstance(c, type)]]
    saved = [(cls, dict(vars(cls))) for cls in classes]
    namespace = {"get_config": Config}
    exec(compile(CONFIG.read_text(), str(CONFIG), "exec"), namespace)  # noqa: S102 (the course's own config)
    try:
        yield namespace, base, handlers
    finally:
        for cls, attributes in saved:
            for name in ("render", "prepare", "content_security_policy", "csp_nonce"):
                if name in attributes:
                    setattr(cls, name, attributes[name])
                elif name in vars(cls):
                    delattr(cls, name)


NONCE = "a-test-nonce"


def render(base, handlers, template, **values):
    environment = Environment(loader=FileSystemLoader(handlers.template_path))
    fake = SimpleNamespace(settings={"nbgrader_jinja2_env": environment}, csp_nonce=NONCE)
    return base.BaseHandler.render(fake, template, base_url="/user/ins", **values)


def test_a_reflected_student_id_stays_text(hub_settings):
    namespace, base, handlers = hub_settings
    html = render(base, handlers, "manage_students_assignments.tpl", student_id=EVIL)
    assert 'window.__pwned.push("reflected")' not in html.replace("&#34;", "?")
    assert "<script>window.__pwned" not in html
    assert "&lt;/script&gt;" in html and "&#34;;window.__pwned" in html  # the id is there, escaped
    # nbgrader's own scripts carry the response's nonce (the Content-Security-Policy lets only them run)
    assert f'<script nonce="{NONCE}">' in html


def test_the_canary_without_the_hub_settings_runs():
    from nbgrader.server_extensions.formgrader import base, handlers

    html = render(base, handlers, "manage_students_assignments.tpl", student_id=EVIL)
    assert 'var student_id = "";window.__pwned.push("reflected");' in html


def test_formgrader_urls_take_plain_ids_only(hub_settings):
    namespace, base, handlers = hub_settings
    plain = namespace["PLAIN_ID"]
    assert plain.fullmatch("nnt1a2b3c-s1") and plain.fullmatch("ex01_perceptron")
    assert plain.fullmatch("0f3c9a4b2e1d4c5b8a7f6e5d4c3b2a19")  # a submission's id
    for bad in (EVIL, "<img src=x>", "a b", "../x", ""):
        assert not plain.fullmatch(bad), bad
    assert handlers.ManageStudentsAssignmentsHandler.prepare is not base.BaseHandler.prepare  # wrapped
    assert handlers.SubmissionFilesHandler.prepare is base.BaseHandler.prepare  # takes paths: left alone
