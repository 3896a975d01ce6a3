"""The Kubernetes path (deploy/kubernetes/): what can be checked without a cluster.

- values.yaml parses and names only settings the Zero to JupyterHub chart defines (deploy/kubernetes/
  z2jh-chart-keys.txt, made from the chart's own values.schema.yaml by chart_keys.py), and it holds what a class
  needs: the course's image, CPU and memory limits and guarantees, a volume per user, the exchange on a
  ReadWriteMany volume, the idle culler, an authenticator; its Python parts compile.
- The Dockerfile builds the image from the course's own requirements.txt and packages, nothing pinned of its own.
"""

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"


def chart_keys():
    lines = (K8S / "z2jh-chart-keys.txt").read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def leaf_paths(node, prefix=""):
    """Dotted paths of a values tree down to its leaves (lists are leaves: Kubernetes objects)."""
    if isinstance(node, dict) and node:
        for key, child in node.items():
            yield from leaf_paths(child, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix


def unknown_settings(values, keys):
    """The paths of ``values`` that the chart does not define."""
    free = {key[:-2] for key in keys if key.endswith(".*")}
    unknown = []
    for path in leaf_paths(values):
        parts = path.split(".")
        if path in keys or any(".".join(parts[:i]) in free for i in range(1, len(parts) + 1)):
            continue
        unknown.append(path)
    return unknown


@pytest.fixture(scope="module")
def values():
    return yaml.safe_load((K8S / "values.yaml").read_text())


def test_the_key_list_is_the_charts():
    keys = chart_keys()
    assert len(keys) > 300, "the key list looks cut short"
    for key in ("singleuser.image.name", "singleuser.memory.limit", "cull.timeout", "hub.config.*"):
        assert key in keys, key


def test_values_name_only_settings_of_the_chart(values):
    assert not unknown_settings(values, chart_keys())


def test_a_misspelt_setting_is_caught(values):
    keys = chart_keys()
    wrong = {**values, "singleuser": {**values["singleuser"], "memroy": {"limit": "2G"}}, "cul": {"enabled": True}}
    assert sorted(unknown_settings(wrong, keys)) == ["cul.enabled", "singleuser.memroy.limit"]


def test_values_hold_what_a_class_needs(values):
    user = values["singleuser"]
    assert user["image"]["name"] and user["image"]["tag"]
    for resource in ("cpu", "memory"):
        assert {"limit", "guarantee"} <= set(user[resource]), resource
    assert user["storage"]["type"] == "dynamic" and user["storage"]["capacity"]
    exchange = user["extraEnv"]["NBGRADER_EXCHANGE_ROOT"]
    mounts = {m["name"]: m["mountPath"] for m in user["storage"]["extraVolumeMounts"]}
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in user["storage"]["extraVolumes"]}
    assert mounts == {"nbgrader-exchange": exchange} and set(claims) == set(mounts)
    pvc = next(d for d in yaml.safe_load_all((K8S / "exchange-pvc.yaml").read_text())
               if d["kind"] == "PersistentVolumeClaim")
    assert pvc["metadata"]["name"] == claims["nbgrader-exchange"]
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]
    assert values["cull"]["enabled"] and values["cull"]["timeout"] > 0
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"]
    for name, code in values["hub"]["extraConfig"].items():
        compile(code, f"hub.extraConfig.{name}", "exec")


def test_the_image_is_built_from_the_courses_own_requirements():
    dockerfile = (K8S / "Dockerfile").read_text()
    instructions = re.sub(r"\\\n", " ", dockerfile)
    commands = [line.split(None, 1) for line in instructions.splitlines() if line.strip() and not line.startswith("#")]
    assert commands[0][0] == "FROM" and re.match(r"python:3\.11\b", commands[0][1]), commands[0]
    copied = [shlex.split(arg)[:-1] for op, arg in commands if op == "COPY"]
    copied = {path for sources in copied for path in sources}
    for source in copied:
        assert (ROOT / source).exists(), f"the Dockerfile copies {source}, which the repository lacks"
    assert "requirements.txt" in copied
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    assert set(packages) <= copied, f"the image misses course packages: {set(packages) - copied}"
    runs = " ".join(arg for op, arg in commands if op == "RUN")
    assert re.search(r"pip install [^&]*-r /tmp/course/requirements-image\.txt", runs)
    # Nothing installed by name and version besides the course's pins: every pip install names a file or the course.
    for install in re.findall(r"pip install ([^&]*)", runs):
        targets = [word for word in install.split() if not word.startswith("-")]
        assert all(t.startswith("/tmp/course") for t in targets), f"the image installs {targets} of its own"
    # The course's requirements are exact pins (plus the editable course itself), so the image's are too.
    lines = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    pinned = re.compile(r"[\w.\-\[\]]+==[\w.]+")
    loose = [line for line in lines if line and not line.startswith("-e ") and not pinned.fullmatch(line)]
    assert not loose, f"requirements.txt has requirements without an exact pin: {loose}"
