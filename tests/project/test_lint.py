"""The code is lint-clean: ruff, with the settings in pyproject.toml, finds nothing in the repository."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"


def ruff(*args, cwd=ROOT):
    return subprocess.run([str(RUFF), "check", "--no-cache", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_ruff_finds_nothing():
    result = ruff(".")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


def test_canary_ruff_reports_a_violation(tmp_path):
    """The same settings on a file with an unused import and a line too long: ruff reports both."""
    (tmp_path / "bad.py").write_text("import os\n\nx = '" + "a" * 130 + "'\n")
    result = ruff("--config", str(ROOT / "pyproject.toml"), str(tmp_path / "bad.py"), cwd=tmp_path)
    assert result.returncode == 1 and "F401" in result.stdout and "E501" in result.stdout, result.stdout
