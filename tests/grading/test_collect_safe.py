"""``make collect`` reads what students made as an attacker would leave it: links, FIFOs, devices, hard links,
oversized files and ids that collide. Each hostile entry sits in one LMS download beside an honest classmate's
notebook; the check is that the attack is not read (its secret never reaches ``submitted/``), the honest submission
is collected unchanged, and the attack is listed in ``grades/collect_problems.json``.

Also the rules of ``grading/safe_files.py`` themselves, on small folders (the hub's exchange uses the same ones).
"""

import json
import os
import shutil
import stat
import threading
from pathlib import Path

import nbformat
import pytest
from grading_cases import ROOT, exercises, make_course

from grading import safe_files
from grading.collect import collect
from grading.course import Course

NAME = exercises()[0]
SECRET = "SECRET-7f3a9c-not-for-students"


@pytest.fixture
def course(tmp_path):
    folder = make_course(tmp_path / "course", [NAME])
    shutil.copytree(ROOT / "exercises" / NAME, folder / "exercises" / NAME)
    return Course(folder)


def notebook(marker):
    nb = nbformat.read(ROOT / "exercises" / NAME / f"{NAME}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(marker))
    return nb


@pytest.fixture
def secret_notebook(tmp_path):
    """A notebook of the exercise holding a secret, outside the download: what a link would point to."""
    path = tmp_path / "instructor" / f"{NAME}.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook(SECRET), path)
    return path


def honest(src):
    nbformat.write(notebook("alice's own work"), src / "alice.ipynb")
    return (src / "alice.ipynb").read_bytes()


def run_collect(course, src):
    collected = collect(course, src, exercise=NAME, log=lambda *_: None)
    problems = json.loads((course.grades / "collect_problems.json").read_text())
    submitted = {p.parent.parent.name: p.read_bytes() for p in (course.root / "submitted").glob(f"*/{NAME}/*.ipynb")}
    return collected, problems, submitted


def assert_contained(course, src, attack_name, kind, alice_bytes):
    collected, problems, submitted = run_collect(course, src)
    assert submitted.get("alice") == alice_bytes, "the honest classmate's submission was not collected unchanged"
    leaked = [student for student, data in submitted.items() if SECRET.encode() in data]
    assert not leaked, f"the linked secret reached submitted/ as {leaked}"
    listed = [p for p in problems if attack_name in p["source"]]
    assert listed and listed[0]["kind"] == kind, f"the attack is not listed as {kind!r}: {problems}"
    return collected, problems


def test_a_symlink_to_an_instructor_file_is_listed_not_read(course, tmp_path, secret_notebook):
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    (src / "mallory.ipynb").symlink_to(secret_notebook)
    assert_contained(course, src, "mallory.ipynb", "symbolic link", alice)


def test_a_symlinked_student_folder_is_listed_not_followed(course, tmp_path, secret_notebook):
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    (src / "mallory").symlink_to(secret_notebook.parent, target_is_directory=True)
    assert_contained(course, src, "mallory", "symbolic link", alice)


def test_a_link_to_proc_environ_is_not_read(course, tmp_path, monkeypatch):
    monkeypatch.setenv("NN_TEST_TOKEN", SECRET)
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    (src / "mallory.ipynb").symlink_to("/proc/self/environ")
    assert_contained(course, src, "mallory.ipynb", "symbolic link", alice)


def test_a_hard_link_is_listed_not_read(course, tmp_path, secret_notebook):
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    os.link(secret_notebook, src / "mallory.ipynb")
    assert_contained(course, src, "mallory.ipynb", "hard link", alice)


def test_a_fifo_neither_hangs_nor_stops_the_class(course, tmp_path):
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    os.mkfifo(src / "mallory.ipynb")
    result = {}
    worker = threading.Thread(target=lambda: result.update(out=run_collect(course, src)), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # unblock the reader so that the test process can end, then fail
        fd = os.open(src / "mallory.ipynb", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("collect hung on a FIFO")
    _, problems, submitted = result["out"]
    assert submitted.get("alice") == alice
    assert [p["kind"] for p in problems if "mallory" in p["source"]] == ["FIFO"], problems


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device file needs root")
def test_a_device_file_is_listed_not_opened(course, tmp_path):
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    os.mknod(src / "mallory.ipynb", 0o644 | stat.S_IFCHR, os.makedev(1, 5))  # /dev/zero: endless bytes
    assert_contained(course, src, "mallory.ipynb", "device file", alice)


def test_colliding_ids_are_listed_and_the_exact_id_keeps_its_work(course, tmp_path):
    """alice.ipynb and a newer blank alice!.ipynb: the newer one used to replace alice's work."""
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    blank = notebook("blank, handed in later")
    nbformat.write(blank, src / "alice!.ipynb")
    os.utime(src / "alice!.ipynb", (2 ** 32, 2 ** 32))  # the year 2106: newer than anything
    collected, problems, submitted = run_collect(course, src)
    assert submitted == {"alice": alice}, sorted(submitted)
    listed = [p for p in problems if p["source"].endswith("alice!.ipynb")]
    assert listed and listed[0]["kind"] == "student id refused" and "collision" in listed[0]["detail"], problems


def test_colliding_ids_with_no_exact_owner_are_both_listed(course, tmp_path):
    src = tmp_path / "download"
    src.mkdir()
    nbformat.write(notebook("one"), src / "bob!.ipynb")
    nbformat.write(notebook("two"), src / "bob#.ipynb")
    collected, problems, submitted = run_collect(course, src)
    assert submitted == {}, sorted(submitted)
    assert sorted(Path(p["source"]).name for p in problems if "collision" in p["detail"]) == ["bob!.ipynb",
                                                                                            "bob#.ipynb"]


def test_an_html_student_id_is_made_plain(course, tmp_path):
    """A file name that is HTML becomes a plain id (or is refused), never markup in Formgrader or a folder path."""
    src = tmp_path / "download"
    src.mkdir()
    nbformat.write(notebook("x"), src / "<img src=x onerror=alert(1)>.ipynb")
    collected, problems, submitted = run_collect(course, src)
    for student in submitted:
        assert safe_files.valid_student_id(student) and "<" not in student, student


# ---- the rules themselves -------------------------------------------------------------------------------------

def test_read_tree_caps_sizes_on_the_bytes_read(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "big").write_bytes(b"x" * 5000)
    (tmp_path / "sub" / "a").write_bytes(b"y" * 600)
    (tmp_path / "sub" / "b").write_bytes(b"z" * 600)
    tree = safe_files.read_tree(tmp_path / "sub", max_file_bytes=1000, max_total_bytes=1000)
    assert sorted(tree.files) == ["a"]  # "a" fits, "b" would pass 1000 in all, "big" is over 1000 alone
    assert {r.path: r.kind for r in tree.refused} == {"b": "too large", "big": "too large"}


def test_read_tree_refuses_a_link_as_the_root_and_another_owners_files(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "f").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    tree = safe_files.read_tree(tmp_path / "link")
    assert not tree.files and tree.refused[0].kind == "symbolic link"
    tree = safe_files.read_tree(tmp_path / "real", owner=os.getuid() + 1)
    assert not tree.files and tree.refused[0].kind == "not the student's"
    tree = safe_files.read_tree(tmp_path / "real", owner=os.getuid())
    assert tree.files == {"f": b"x"}  # the control: the owner's own file is read


def test_write_tree_never_writes_through_a_link(tmp_path):
    target = tmp_path / "target"
    target.write_text("untouched")
    with pytest.raises(FileExistsError):
        safe_files.write_tree({"x": b"new"}, tmp_path)  # dest must be new
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="relative paths"):
        safe_files.write_tree({"../target": b"new"}, dest)
    assert target.read_text() == "untouched"


def test_student_ids_are_checked_with_a_clear_error():
    assert safe_files.valid_student_id("s001") and safe_files.valid_student_id("jane.doe@uni")
    for bad in ("", "-rf", "../x", "a b", "<b>", "x" * 65, None):
        assert not safe_files.valid_student_id(bad), bad
    with pytest.raises(ValueError, match=r"student: expected a letter or digit.*got '<b>'"):
        safe_files.check_student_id("<b>", "student")


def test_roster_lists_unknown_ids():
    assert safe_files.check_roster(["a", "ghost"], {"a", "b"}) == (["a"], ["ghost"])
    assert safe_files.check_roster(["a"], None) == (["a"], [])


def test_ids_not_on_the_roster_are_listed_not_collected(course, tmp_path):
    (course.root / "roster.txt").write_text("# the class\nalice\nbob\n")
    src = tmp_path / "download"
    src.mkdir()
    alice = honest(src)
    nbformat.write(notebook("a made-up student"), src / "mallory.ipynb")
    collected, problems, submitted = run_collect(course, src)
    assert submitted == {"alice": alice}, sorted(submitted)
    assert [(Path(p["source"]).name, p["kind"]) for p in problems] == [("mallory.ipynb", "not on the roster")]


def test_a_roster_line_that_is_not_an_id_is_a_clear_error(course, tmp_path):
    (course.root / "roster.txt").write_text("alice\n<b>bob</b>\n")
    (tmp_path / "download").mkdir()
    with pytest.raises(ValueError, match=r"roster.txt line 2: expected .* got '<b>bob</b>'"):
        collect(course, tmp_path / "download", exercise=NAME, log=lambda *_: None)
