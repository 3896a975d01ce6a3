"""The course site: the strict build, what it publishes, and the chapters' stored outputs.

The strict build (`jupyter-book build -W -n --keep-going --all`) runs once per test run, through the
`built_site` fixture of conftest.py, into the repository's own `_build`: the executed-notebook cache is
shared with `make book`, and a file lock keeps two pytest-xdist workers from building at once.
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml
from browser_utils import toc_files

from grading import leaks
from grading.course import Course

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"

# Folders whose notebooks hold solutions, hidden tests or students' work: never on the site.
PRIVATE_FOLDERS = ("solutions", "submitted", "autograded", "feedback", "nbgrader_exchange")
PRIVATE_MARKERS = ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "### BEGIN")
# The released student versions are pages of the site (exercises/exNN/exNN.ipynb, as _toc.yml lists them): only
# those, their page and their download copy in _sources/; their solution and hidden-test text is checked apart.
EXERCISE_PAGES = [f for f in toc_files() if f.startswith("exercises/")]

STRAY_REPRS = ("<matplotlib.", "[<matplotlib", "Text(", "<Axes:")

# Reference numbers of ../shared/course-spec.md, by chapter. A tuple means "any one of these forms".
REFERENCE_NUMBERS = {
    "02_sigmoid_neuron": ["0.7985731", "0.87101915"],
    "03_backpropagation": ["0.00966449", "0.00786506", "0.99358898", "0.99211957"],
    "04_moons_network": ["0.85", "0.070758", "0.071316", "0.975"],
    "05_wine_mlp": [("[[17, 0, 0], [0, 14, 1], [0, 0, 13]]", "[[17  0  0]"), "0.98", "(13, 13)"],
}


def chapter_notebooks():
    """The chapter notebooks listed in _toc.yml."""
    return [ROOT / f"{f}.ipynb" for f in toc_files() if f.startswith("chapters/")]


CHAPTERS = chapter_notebooks()


def output_texts(nb):
    """(cell index, output type, mime or stream name, text) for every text output of a notebook."""
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "stream":
                yield index, "stream", out.name, out.text
            elif out.output_type == "error":
                yield index, "error", out.ename, "\n".join(out.traceback)
            else:
                for mime, data in out.get("data", {}).items():
                    if mime.startswith("text/"):
                        yield index, out.output_type, mime, data if isinstance(data, str) else "".join(data)


# 1. The strict build ------------------------------------------------------------------------------


@pytest.mark.timeout(1200)
def test_strict_build_passes_without_warnings(built_site):
    rc, output = built_site.returncode, built_site.stdout
    assert "--all" in built_site.args and "-W" in built_site.args, built_site.args
    # every line counts, ipykernel's too: course_kernel encrypts the kernels' sockets, so none warns that it
    # is "running over TCP without encryption"
    warnings = [line for line in output.splitlines() if "WARNING" in line]
    assert not warnings, "the build printed warnings:\n" + "\n".join(warnings)
    problems = [line for line in output.splitlines() if "ERROR" in line or "Traceback" in line]
    assert rc == 0, f"the strict build exited {rc}:\n" + "\n".join(problems or output.splitlines()[-40:])


# 2. What the site contains --------------------------------------------------------------------------


@pytest.mark.timeout(1200)
def test_site_has_a_page_for_every_toc_entry(built_site):
    missing = [f for f in toc_files() if not (HTML / f"{f}.html").is_file()]
    assert not missing, f"no HTML page for {missing} in {HTML}"
    assert (HTML / "index.html").is_file()


@pytest.mark.timeout(1200)
def test_site_publishes_no_solutions_or_student_work(built_site):
    assert HTML.is_dir()
    leaked = [
        str(p.relative_to(HTML))
        for p in HTML.rglob("*")
        if set(p.relative_to(HTML).parts) & set(PRIVATE_FOLDERS)
    ]
    assert not leaked, f"private folders on the site: {leaked[:20]}"
    allowed = {f"{f}.html" for f in EXERCISE_PAGES} | {f"_sources/{f}.ipynb" for f in EXERCISE_PAGES}
    others = [
        str(p.relative_to(HTML))
        for p in HTML.rglob("*")
        if p.is_file() and "exercises" in p.relative_to(HTML).parts and str(p.relative_to(HTML)) not in allowed
    ]
    assert not others, f"files from exercises/ on the site besides the student notebooks' pages: {others[:20]}"
    hits = []
    for path in HTML.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".ipynb", ".txt", ".md", ".json", ".py", ".inv"}:
            text = path.read_text(errors="replace")
            hits += [f"{path.relative_to(HTML)}: {m!r}" for m in PRIVATE_MARKERS if m in text]
    assert not hits, "nbgrader markers on the site:\n" + "\n".join(hits)


@pytest.mark.timeout(1200)
def test_exercise_pages_show_no_solution_or_hidden_test(built_site):
    """Every telling line of the source notebooks' solutions and hidden tests is absent from the whole site (the
    exercise pages, their downloadable notebooks, the search index), and so is every nbgrader marker: the course's
    one leak scanner, grading.leaks (what `release` runs on exercises/), over the text a reader gets."""
    sources = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert sources and EXERCISE_PAGES, "no exercise sources, or no exercise page in _toc.yml"
    secrets = leaks.course_secrets(Course(ROOT))
    assert len(secrets) > 50, f"only {len(secrets)} solution and hidden-test lines found: the scan is broken"
    found = leaks.find_leaks(HTML, secrets)
    assert not found, "solution or hidden-test text on the site:\n" + "\n".join(
        f"{Path(path).relative_to(HTML)}: {text!r}" for path, text in found[:30])


# 5. Buttons on the chapter pages --------------------------------------------------------------------


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_page_has_download_and_launch_buttons(built_site, notebook):
    page = HTML / "chapters" / f"{notebook.stem}.html"
    assert page.is_file(), f"{page} was not built"
    html = page.read_text()
    download = f'href="../_sources/chapters/{notebook.name}"'
    assert download in html, f"no .ipynb download link ({download}) on {page.name}"
    assert (HTML / "_sources" / "chapters" / notebook.name).is_file(), "the download link points to no file"
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if config["repository"]["url"]:  # a public repository: the Binder button opens this chapter there
        repo = config["repository"]["url"].removeprefix("https://github.com/")
        branch = config["repository"]["branch"]
        binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/chapters/{notebook.name}"
        assert binder in html, f"no Binder launch button ({binder}) on {page.name}"
    else:  # none yet (README): no button may lead to a placeholder repository
        assert "mybinder.org" not in html and "github.com/" not in html.split("<main", 1)[0], (
            f"{page.name} has a Binder or repository button, but _config.yml names no repository")
    assert "_static/dark-figures.css" in html, f"the dark-mode figure CSS is not linked from {page.name}"


# 3. The chapters' stored outputs -------------------------------------------------------------------


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_outputs_are_clean(notebook):
    assert notebook.is_file(), f"{notebook} is listed in _toc.yml but does not exist"
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", "kernelspec name must be python3"
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and cell.execution_count is None:
            problems.append(f"cell {index}: never executed")
    for index, kind, name, text in output_texts(nb):
        if kind == "error":
            problems.append(f"cell {index}: error output {name}")
        if kind == "stream" and name == "stderr":
            problems.append(f"cell {index}: stderr output {text[:200]!r}")
        if "Warning" in text:
            problems.append(f"cell {index}: a warning in the output {text[:200]!r}")
        if kind in {"execute_result", "display_data"} and name == "text/plain":
            problems += [f"cell {index}: stray repr {text[:120]!r}" for r in STRAY_REPRS if r in text]
    assert not problems, f"{notebook.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_ran_top_to_bottom(notebook):
    nb = nbformat.read(notebook, as_version=4)
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{notebook.name}: execution counts {counts}; run it top to bottom on a fresh kernel"
    )


# 4. Reference numbers of the course specification ----------------------------------------------------


@pytest.mark.parametrize(
    "chapter, expected",
    [(chapter, value) for chapter, values in REFERENCE_NUMBERS.items() for value in values],
    ids=lambda v: v if isinstance(v, str) else v[0],
)
def test_reference_number_in_stored_outputs(chapter, expected):
    notebook = ROOT / "chapters" / f"{chapter}.ipynb"
    assert notebook in CHAPTERS, f"{chapter} is not in _toc.yml"
    nb = nbformat.read(notebook, as_version=4)
    text = "\n".join(t for _, kind, _, t in output_texts(nb) if kind != "error")
    forms = expected if isinstance(expected, tuple) else (expected,)
    assert any(re.search(number_pattern(f), text) for f in forms), (
        f"{notebook.name}: none of {forms} in the stored outputs"
    )


def number_pattern(form):
    """A regex for `form` that is not the tail of a longer number. A short decimal such as 0.85 (an exact
    fraction in the spec) may be printed with trailing zeros (0.850) but not go on with other digits
    (0.851), while a long one such as 0.7985731 may (0.79857310...)."""
    pattern = r"(?<![\d.])" + re.escape(form)
    short_decimal = re.fullmatch(r"\d+\.\d{1,3}", form)
    return pattern + r"0*(?!\d)" if short_decimal else pattern
