"""grading/sanitize.py: what a student's notebook puts into a grader's or a student's page runs nothing and fetches
nothing, checked in Chromium.

A notebook with every hostile vector of the hub issue and more (``hub_utils.hostile_cells``: a ``javascript:`` link
in a markdown cell, an image output whose ``width`` metadata is an event handler, HTML and SVG outputs with scripts,
a JavaScript output, an SVG attachment, MathJax's ``\\href``, a raw HTML cell, a cell tag and an execution count that
close their attribute, image data that closes its ``src``, a remote image and a stylesheet import that would fetch)
is rendered with nbconvert's classic template (Formgrader's submission view extends it), its lab template and
nbgrader's feedback template. Chromium opens each page, every link on it is clicked, and each script's marker and
each request to the beacon are recorded. The unsanitised notebook is the canary: its pages must show the vectors.
"""

import copy
import re
from pathlib import Path

import browser_utils as bu
import hub_utils as hu
import nbformat
import pytest
from nbconvert import HTMLExporter

from grading import sanitize

BEACON = "http://127.0.0.1:9/beacon"  # nothing listens on port 9; Chromium's requests are caught before they go


def hostile_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = hu.hostile_cells(BEACON)
    return nb


def feedback_template_dir():
    from nbgrader.server_extensions import formgrader
    return str(Path(formgrader.__file__).parent / "templates")


def render(nb, template):
    if template == "feedback":
        static = Path(feedback_template_dir()).parent / "static" / "node_modules" / "bootstrap" / "dist" / "css"
        exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[feedback_template_dir()],
                                extra_template_paths=[str(static)])
        resources = {"nbgrader": {"notebook": "x", "score": 0, "max_score": 0, "student": "s", "late_penalty": 0}}
    else:
        exporter = HTMLExporter(template_name=template)
        resources = {}
    html, _ = exporter.from_notebook_node(copy.deepcopy(nb), resources=resources)
    return html


@pytest.fixture(scope="module")
def browser():
    yield from bu.chromium()


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    raw = hostile_notebook()
    clean = hostile_notebook()
    report = sanitize.sanitize_notebook(clean)
    nbformat.validate(clean)
    for template in ("classic", "lab", "feedback"):
        (folder / f"raw-{template}.html").write_text(render(raw, template))
        (folder / f"clean-{template}.html").write_text(render(clean, template))
    return folder, report


@pytest.mark.parametrize("template", ["classic", "lab", "feedback"])
def test_nothing_a_student_wrote_runs_or_fetches_in_chromium(browser, pages, template):
    folder, _ = pages
    with bu.serve_directory(folder) as base:
        pushed, fetched, dialogs = hu.what_runs(browser, f"{base}clean-{template}.html", BEACON)
        # The canary: the same notebook unsanitised runs and fetches, so the page and the clicks do reach them.
        raw_pushed, raw_fetched, _ = hu.what_runs(browser, f"{base}raw-{template}.html", BEACON)
    assert not pushed and not fetched and not dialogs, (pushed, fetched, dialogs)
    assert len(raw_pushed) >= 5 and raw_fetched, (raw_pushed, raw_fetched)
    if template == "classic":  # the unquoted width attribute of nbconvert's classic template
        assert "image-width-metadata" in raw_pushed, raw_pushed


def test_the_sanitised_page_has_no_active_html(pages):
    """No tag of the page carries a vector (what the student wrote is still there, as escaped text)."""
    folder, _ = pages
    for template in ("classic", "lab", "feedback"):
        html = (folder / f"clean-{template}.html").read_text()
        tags = re.findall(r"<[^>]*(?:__pwned|javascript:|onerror|onload=|ontoggle|/beacon)[^>]*>", html)
        assert not tags, f"the {template} page: {tags[:5]}"
        assert "window.__pwned" in html, "the canary: the student's text is shown, escaped"


def test_each_cell_says_what_was_removed(pages):
    folder, report = pages
    removed = " ".join(" ".join(what) for what in report.values())
    for expected in ("active Markdown", "application/javascript", "image/svg+xml", "not base64", "active HTML"):
        assert expected in removed, (expected, report)
    clean = hostile_notebook()
    sanitize.sanitize_notebook(clean)
    shown = [c.source for c in clean.cells if c.cell_type == "markdown"]
    assert all("removed for safety" in text for text in shown[:1]), shown[:1]
    assert "javascript:window.__pwned.push('markdown-javascript-link')" in shown[0]  # kept as text, in a code block


def test_width_metadata_keeps_only_numbers():
    out = nbformat.v4.new_output("display_data", data={"image/png": hu.PNG},
                                 metadata={"image/png": {"width": 320, "height": "1 onerror=x"}, "width": "2 x"})
    clean, _ = sanitize.sanitize_output(out)
    assert clean.metadata == {"image/png": {"width": 320}}


def test_every_course_notebook_keeps_its_markdown():
    """The control: honest markdown (math, tables, code, links, headings) of every chapter, exercise and solution
    passes unchanged, so a flagged cell means something."""
    paths = [p for folder in ("chapters", "exercises", "solutions") for p in sorted((hu.ROOT / folder).rglob("*.ipynb"))
             if ".ipynb_checkpoints" not in p.parts]
    assert len(paths) >= 10
    changed = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                text, was_changed = sanitize.sanitize_markdown(cell.source, cell.get("attachments"))
                if was_changed or text != cell.source:
                    changed.append(f"{path.name} cell {index}")
    assert not changed, changed


def test_student_ids_are_validated():
    assert sanitize.valid_student_id("s001")
    with pytest.raises(ValueError, match="student"):
        sanitize.check_student_id('"><script>', "student")
