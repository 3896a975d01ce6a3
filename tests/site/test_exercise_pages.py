"""The exercises on the site: every released student version is a page of the book.

Each exercise of solutions/ is listed in _toc.yml as its student version, exercises/<ex>/<ex>.ipynb, and built
into a page that was not executed (the stubs raise NotImplementedError by design), with the download button (the
student notebook, as `make release` wrote it) and the Binder launch button. Each chapter ends with a link to its
exercise pages, and the guide "Doing the exercises" links them all. What the pages must not show (solutions,
hidden tests) is checked in test_book.py for the whole site; a canary here shows that check can fail.
In Chromium: the chapter's link opens the exercise page, and the download button serves the student notebook.
"""

import re
from urllib.parse import urljoin

import browser_utils as bu
import nbformat
import pytest
import yaml

from grading import leaks

ROOT = bu.ROOT
HTML = bu.HTML
EXERCISES = sorted(p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
PAGES = [f"exercises/{name}/{name}" for name in EXERCISES]

# The exercise pages each chapter's last cell links to (ex04 needs chapter 4's softmax: chapter 4 links it, and
# chapter 3 sends the reader there after chapter 4).
CHAPTER_EXERCISES = {
    "01_perceptron": ["ex01_perceptron"],
    "02_sigmoid_neuron": ["ex02_sigmoid_neuron"],
    "03_backpropagation": ["ex04_backprop", "ex03_xor_backprop"],  # its own, and a pointer to the one after ch. 4
    "04_moons_network": ["ex04_backprop", "ex05_minibatch"],
    "05_wine_mlp": ["ex06_wine"],
    "06_evaluating": ["ex07_model_selection" if "ex07_model_selection" in EXERCISES else "ex06_wine"],
}


def markdown_links(source):
    """The targets of the markdown links [text](target) in a cell's source."""
    return re.findall(r"\]\(([^)\s]+)\)", source)


def released(name):
    return nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)


# The sources ---------------------------------------------------------------------------------------------------


def test_every_exercise_is_a_page_in_the_toc():
    toc = bu.toc_files()
    assert [f for f in toc if f.startswith("exercises/")] == PAGES, (
        f"_toc.yml should list the student versions {PAGES}, in order; it lists "
        f"{[f for f in toc if f.startswith('exercises/')]}")
    assert not [f for f in toc if f.startswith("solutions/")], "a source notebook (solutions/) is in _toc.yml"


def test_exercise_pages_are_never_executed():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "exercises/*/*.ipynb" in config["execute"]["exclude_patterns"], config["execute"]
    assert not any(p.strip("/") in ("exercises", "exercises/*", "exercises/**")
                   for p in config.get("exclude_patterns", [])), "exercises/ is excluded from the book"
    for name in EXERCISES:
        nb = released(name)
        assert nb.metadata.get("kernelspec", {}).get("name") == "python3", name
        assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
            f"{name}: the released notebook has stored outputs (run `make release`)")


@pytest.mark.parametrize("chapter", sorted(CHAPTER_EXERCISES))
def test_chapter_ends_with_a_link_to_its_exercise_page(chapter):
    nb = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    last = nb.cells[-1]
    assert last.cell_type == "markdown", f"{chapter}: the last cell is not a markdown cell"
    links = markdown_links(last.source)
    for name in CHAPTER_EXERCISES[chapter]:
        target = f"../exercises/{name}/{name}.ipynb"
        assert target in links, f"{chapter}'s last cell should link to {target}; its links are {links}"
    assert "../guides/exercises.md" in links, f"{chapter}'s last cell should link to the guide 'Doing the exercises'"


def test_guide_links_every_exercise_page():
    links = markdown_links((ROOT / "guides" / "exercises.md").read_text())
    missing = [n for n in EXERCISES if f"../exercises/{n}/{n}.ipynb" not in links]
    assert not missing, f"guides/exercises.md does not link {missing}"


def test_canary_the_site_leak_check_finds_a_planted_solution(tmp_path):
    """test_book's scan (grading.leaks), run on an exercise page with one solution line pasted in (split by a
    highlighting tag, as a code block on a page is), reports it; on a clean page, nothing."""
    source = nbformat.read(ROOT / "solutions" / EXERCISES[0] / f"{EXERCISES[0]}.ipynb", as_version=4)
    secret = sorted(leaks.secret_lines(source))
    assert secret, f"no solution or hidden-test line found in {EXERCISES[0]}"
    page = tmp_path / "page.html"
    page.write_text(f"<html><body><pre><span>{secret[0][:10]}</span>{secret[0][10:]}</pre></body></html>")
    assert leaks.find_leaks(page, secret) == [(str(page), secret[0])]
    clean = tmp_path / "clean.html"
    clean.write_text("<html><body><p>nothing to see</p></body></html>")
    assert leaks.find_leaks(clean, secret) == []


# The built pages -----------------------------------------------------------------------------------------------


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_page_has_download_and_launch_buttons(built_site, name):
    page = HTML / "exercises" / name / f"{name}.html"
    assert page.is_file(), f"{page} was not built (exit {built_site.returncode})"
    html = page.read_text()
    download = f'href="../../_sources/exercises/{name}/{name}.ipynb"'
    assert download in html, f"no .ipynb download link ({download}) on {page.name}"
    served = nbformat.read(HTML / "_sources" / "exercises" / name / f"{name}.ipynb", as_version=4)
    assert [c.source for c in served.cells] == [c.source for c in released(name).cells], (
        f"the download copy of {name} is not the released student notebook")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if config["repository"]["url"]:  # a public repository: the Binder button opens this exercise there
        repo = config["repository"]["url"].removeprefix("https://github.com/")
        binder = (f"https://mybinder.org/v2/gh/{repo}/{config['repository']['branch']}"
                  f"?urlpath=lab/tree/exercises/{name}/{name}.ipynb")
        assert binder in html, f"no Binder launch button ({binder}) on {page.name}"
    else:  # none yet (README): no button may lead to a placeholder repository
        assert "mybinder.org" not in html, f"{page.name} has a Binder button, but _config.yml names no repository"
    assert 'class="cell_output' not in html, f"{page.name} shows outputs: the exercise pages are not executed"
    assert "YOUR CODE HERE" in html, f"{page.name} does not show the student's answer cells"


@pytest.mark.timeout(1200)
def test_built_chapters_and_guide_link_the_exercise_pages(built_site):
    problems = []
    for chapter, names in CHAPTER_EXERCISES.items():
        html = (HTML / "chapters" / f"{chapter}.html").read_text()
        problems += [f"{chapter}.html: no link to {n}" for n in names
                     if f'href="../exercises/{n}/{n}.html"' not in html]
    guide = (HTML / "guides" / "exercises.html").read_text()
    problems += [f"guides/exercises.html: no link to {n}" for n in EXERCISES
                 if f'href="../exercises/{n}/{n}.html"' not in guide]
    assert not problems, "\n".join(problems)


# In Chromium ---------------------------------------------------------------------------------------------------


# The site (a copy of the built book served on localhost) and `chromium` (a context whose requests outside
# localhost are blocked) are tests/site/conftest.py's fixtures.


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("chapter", sorted(CHAPTER_EXERCISES))
def test_chapter_link_opens_the_exercise_page_in_chromium(site, chromium, chapter):
    name = CHAPTER_EXERCISES[chapter][-1]
    page = chromium[0].new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(urljoin(site, f"chapters/{chapter}.html"), wait_until="load")
        page.locator(f"article a[href='../exercises/{name}/{name}.html']").first.click()
        page.wait_for_url(urljoin(site, f"exercises/{name}/{name}.html"), wait_until="load")
        title = page.locator("article h1").first.inner_text()
        code = page.locator("article div.cell_input").count()
    finally:
        page.close()
    assert title.startswith("Exercise"), f"the link from {chapter} opened a page titled {title!r}"
    assert code > 0, f"the exercise page {name} shows no code cells"
    assert not errors, f"uncaught exceptions on {name}'s page: {errors}"


@pytest.mark.timeout(1500)
@pytest.mark.parametrize("name", EXERCISES)
def test_download_button_gives_the_student_notebook_in_chromium(site, chromium, name):
    context, _ = chromium
    page = context.new_page()
    try:
        page.goto(urljoin(site, f"exercises/{name}/{name}.html"), wait_until="load")
        body = bu.download_source(context, page)
    finally:
        page.close()
    downloaded = nbformat.reads(body.decode("utf-8"), as_version=4)
    assert [c.source for c in downloaded.cells] == [c.source for c in released(name).cells], (
        f"the notebook served for {name} is not the released student notebook")
    assert "BEGIN SOLUTION" not in body.decode() and "BEGIN HIDDEN TESTS" not in body.decode()


# What `make validate` tells a learner ----------------------------------------------------------------------------


def test_every_graded_cell_belongs_to_a_titled_part():
    """validate's report names each part by its heading: every test and hand-graded answer sits under one, and the
    points of the parts add up to the exercise's."""
    from grading.validate_report import parts
    for name in EXERCISES:
        nb = released(name)
        found = parts(nb)
        assert found and all(title for title, _ in found), f"{name}: a graded cell comes before any part heading"
        total = sum(float(c.metadata["nbgrader"].get("points", 0)) for c in nb.cells
                    if c.metadata.get("nbgrader", {}).get("grade"))
        assert sum(p for _, cells in found for _, p, _ in cells) == total, name


def test_validate_reports_points_per_part_and_that_hidden_tests_count(tmp_path):
    """A learner who has done part 1 of ex01 only: `python -m grading validate` (what `make validate` runs) gives
    part 1's points, none for the others, and says that hidden tests also count."""
    import subprocess
    import sys
    source = nbformat.read(ROOT / "solutions" / "ex01_perceptron" / "ex01_perceptron.ipynb", as_version=4)
    answer = next(c.source for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "step_answer")
    nb = released("ex01_perceptron")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "step_answer":
            cell.source = "\n".join(line for line in answer.splitlines() if "### " not in line)
    path = tmp_path / "ex01_perceptron.ipynb"
    nbformat.write(nb, path)
    result = subprocess.run([sys.executable, "-m", "grading", "validate", str(path)], cwd=ROOT, text=True,
                            capture_output=True, timeout=600)
    out = result.stdout
    assert result.returncode != 0, out
    assert "1. The step activation: 1 of 1" in out, out[-2000:]
    assert "2. The perceptron update: 0 of 3 (a visible test fails)" in out, out[-2000:]
    assert "4. In your own words: 2 graded by your instructor" in out, out[-2000:]
    assert "5. Noisy data: a pocket perceptron: 0 of 2 (a visible test fails)" in out, out[-2000:]
    assert "Visible tests: 1 of 7 points" in out, out[-2000:]
    assert "hidden tests, which count too" in out, out[-2000:]


# Hints as a ladder -----------------------------------------------------------------------------------------------


def answer_lines(name):
    """The solution lines of an exercise (the BEGIN/END SOLUTION blocks as grading.leaks reads them), comments left
    out, from 12 characters: shorter than the leak scan's lines, since a hint that quotes even a short line of the
    answer gives it away (and, unlike the leak scan, a line the source also shows outside a block still counts)."""
    source = nbformat.read(ROOT / "solutions" / name / f"{name}.ipynb", as_version=4)
    inside, _ = leaks.split_blocks(source, "BEGIN SOLUTION", "END SOLUTION")
    return {line.strip() for line in inside if len(line.strip()) >= 12 and not line.strip().startswith("#")}


def part_texts(nb):
    """{heading: the markdown of that part (its heading cell and the markdown cells up to the next heading)}."""
    found, current = {}, None
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        heading = re.match(r"#{2,3} (\d+\.|Bonus).*", cell.source)
        if heading:
            current = heading.group(0)
            found[current] = ""
        elif re.match(r"#{1,3} ", cell.source):
            current = None
        if current:
            found[current] += cell.source + "\n"
    return found


def hint_and_message_text(nb):
    """The folded hints and the string literals of the test cells (their assert messages)."""
    import io
    import tokenize
    texts = re.findall(r"<summary>Hint \d</summary>(.*?)</details>",
                       "\n".join(c.source for c in nb.cells if c.cell_type == "markdown"), flags=re.DOTALL)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade"):
            tokens = tokenize.generate_tokens(io.StringIO(cell.source).readline)
            texts += [tok.string for tok in tokens if tok.type == tokenize.STRING]
    return " ".join(" ".join(texts).split())


@pytest.mark.parametrize("name", EXERCISES)
def test_every_part_has_one_to_three_folded_hints_in_order(name):
    problems = []
    for heading, text in part_texts(released(name)).items():
        hints = re.findall(r"<details><summary>Hint (\d)</summary>", text)
        if not 1 <= len(hints) <= 3 or hints != [str(i) for i in range(1, len(hints) + 1)]:
            problems.append(f"{heading!r}: hints {hints}")
        if text.count("<details>") != text.count("</details>"):
            problems.append(f"{heading!r}: a <details> block is not closed")
    assert not problems, f"{name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", EXERCISES)
def test_no_hint_or_test_message_is_the_answer(name):
    """No line of the solution is quoted by a hint or an assert message, and none invites tuning on the test set."""
    text = hint_and_message_text(released(name))
    given = [line for line in answer_lines(name) if " ".join(line.split()) in text]
    assert not given, f"{name}: hints or test messages quote the solution: {given}"
    assert "another random_state" not in text and "larger max_iter" not in text, f"{name}: tuning on the test set"


def test_canary_the_answer_check_finds_a_quoted_solution():
    nb = released("ex06_wine")
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_evaluate":
            cell.source += '\nassert True, "Hint: accuracy = np.trace(cm) / cm.sum()"'
    assert "accuracy = np.trace(cm) / cm.sum()" in answer_lines("ex06_wine")
    assert "accuracy = np.trace(cm) / cm.sum()" in hint_and_message_text(nb)
