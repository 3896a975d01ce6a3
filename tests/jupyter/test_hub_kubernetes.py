"""The Kubernetes path (deploy/kubernetes/): what can be checked without a cluster.

- values.yaml parses and names only settings the Zero to JupyterHub chart defines (deploy/kubernetes/
  z2jh-chart-keys.txt, made from the chart's own values.schema.yaml by chart_keys.py), and it holds what a class
  needs: the course's image, CPU and memory limits and guarantees, a volume per user, the exchange on a
  ReadWriteMany volume, the idle culler, an authenticator; its Python parts compile.
- The exchange's mounts, rendered for a student's pod and an instructor's the way KubeSpawner renders them (the
  ``{username}`` of the values, then the hub's hook in hub.extraConfig): a student's pod can write only into
  ``inbound/<their name>`` of the exchange volume and read only the released exercises and their own feedback,
  each under the path nbgrader expects; the init container makes exactly those two folders; an instructor's pod
  gets the whole volume with inbound read-only; the set-up Job makes the folders the mounts need.
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
    mounts = {m["name"] for m in user["storage"]["extraVolumeMounts"]}
    assert all(m["mountPath"].startswith(exchange + "/") for m in user["storage"]["extraVolumeMounts"])
    claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in user["storage"]["extraVolumes"]}
    assert mounts == {"nbgrader-exchange"} and set(claims) == mounts
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


# ---- the exchange's mounts, rendered for a student's pod and an instructor's ------------------------------------

class Group:
    def __init__(self, name):
        self.name = name


class User:
    def __init__(self, name, groups):
        self.name, self.groups = name, [Group(g) for g in groups]


class Spawner:
    """What hub.extraConfig's hook reads and writes of KubeSpawner: the user, the volume mounts and init containers
    (already expanded, as KubeSpawner's pre_spawn_hook sees its own settings' values)."""

    def __init__(self, user, volume_mounts, init_containers):
        self.user, self.volume_mounts, self.init_containers = user, volume_mounts, init_containers


def expand(value, name):
    """KubeSpawner's ``{username}`` for a name its 'safe' scheme keeps as it is (a lowercase DNS label: see
    kubespawner/slugs.py); the tests use only such names."""
    assert re.fullmatch(r"[a-z]([a-z0-9-]{0,46}[a-z0-9])?", name) and "--" not in name, name
    if isinstance(value, str):
        return value.replace("{username}", name)
    if isinstance(value, list):
        return [expand(v, name) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, name) for k, v in value.items()}
    return value


def pod(values, name, groups):
    """The exchange volume's mounts and init containers of ``name``'s pod, after the hub's hook."""
    from traitlets.config import Config

    user = values["singleuser"]
    c = Config()
    exec(compile(values["hub"]["extraConfig"]["nn-course"], "hub.extraConfig", "exec"), {"c": c})  # noqa: S102
    spawner = Spawner(User(name, groups), expand(user["storage"]["extraVolumeMounts"], name),
                      expand(user["initContainers"], name))
    c.KubeSpawner.pre_spawn_hook(spawner)
    claim = {v["name"] for v in user["storage"]["extraVolumes"] if v["persistentVolumeClaim"]["claimName"]
             == "nbgrader-exchange"}
    mounts = [m for m in spawner.volume_mounts if m["name"] in claim]
    return mounts, spawner.init_containers, c


def resolve(mounts, path):
    """Where ``path`` of the container lands on the exchange volume, and whether it is writable there (the deepest
    mount that holds it decides, as in a container); None where no mount of the volume holds it."""
    holding = [m for m in mounts if path == m["mountPath"] or path.startswith(m["mountPath"].rstrip("/") + "/")]
    if not holding:
        return None
    mount = max(holding, key=lambda m: len(m["mountPath"]))
    rest = path[len(mount["mountPath"]):].strip("/")
    on_volume = "/".join(part for part in (mount.get("subPath", ""), rest) if part)
    return on_volume, not mount.get("readOnly", False)


def test_a_students_pod_reaches_only_their_own_exchange_folders(values):
    exchange = values["singleuser"]["extraEnv"]["NBGRADER_EXCHANGE_ROOT"]
    course = "nn-in-python"
    assert values["singleuser"]["extraEnv"]["NBGRADER_EXCHANGE_LAYOUT"] == "per-user"
    mounts, inits, _ = pod(values, "s001", ["nn-students"])
    # nbgrader's paths, as the student's server uses them
    assert resolve(mounts, f"{exchange}/{course}/outbound/ex01_perceptron") == (f"{course}/outbound/ex01_perceptron",
                                                                                  False)
    assert resolve(mounts, f"{exchange}/{course}/inbound/s001+ex01+t") == (f"{course}/inbound/s001/s001+ex01+t", True)
    assert resolve(mounts, f"{exchange}/{course}/feedback/abc.html") == (f"{course}/feedback/s001/abc.html", False)
    # nothing else of the volume: not its root, not the course's folder, not a classmate's folders
    for path in (exchange, f"{exchange}/{course}", f"{exchange}/other-course", f"{exchange}/{course}/planted"):
        assert resolve(mounts, path) is None, path
    writable = {m.get("subPath", "") for m in mounts if not m.get("readOnly", False)}
    assert writable == {f"{course}/inbound/s001"}, writable
    readable = {m.get("subPath", "") for m in mounts}
    assert readable == {f"{course}/outbound", f"{course}/inbound/s001", f"{course}/feedback/s001"}, readable
    # the init container makes exactly the student's two folders, and runs as the pods' user
    (init,) = [i for i in inits if i["name"] == "exchange-folders"]
    made = set(re.findall(r"/exchange/(\S+)", init["command"][-1]))
    assert made == {f"{course}/inbound/s001", f"{course}/feedback/s001"}, made
    assert init["securityContext"]["runAsUser"] == values["singleuser"]["uid"]
    assert {m["mountPath"] for m in init["volumeMounts"]} == {"/exchange"}


def test_two_students_share_no_writable_folder(values):
    first, _, _ = pod(values, "s001", ["nn-students"])
    second, _, _ = pod(values, "s002", ["nn-students"])
    writable = [{m["subPath"] for m in mounts if not m.get("readOnly", False)} for mounts in (first, second)]
    assert not writable[0] & writable[1] and all(writable)
    assert not any(a.startswith(b + "/") or b.startswith(a + "/") for a in writable[0] for b in writable[1])


def test_an_instructors_pod_gets_the_volume_with_inbound_read_only(values):
    exchange = values["singleuser"]["extraEnv"]["NBGRADER_EXCHANGE_ROOT"]
    course = "nn-in-python"
    mounts, inits, c = pod(values, "teacher", ["nn-instructors"])
    assert resolve(mounts, f"{exchange}/{course}/outbound/ex01") == (f"{course}/outbound/ex01", True)  # release
    assert resolve(mounts, f"{exchange}/{course}/feedback/s001/x.html") == (f"{course}/feedback/s001/x.html", True)
    assert resolve(mounts, f"{exchange}/{course}/inbound/s001/s001+ex01+t") == (f"{course}/inbound/s001/s001+ex01+t",
                                                                                 False)  # collect only reads
    assert not [i for i in inits if i["name"] == "exchange-folders"]
    environment = c.KubeSpawner.environment.get_value({})["JUPYTER_CONFIG_PATH"]
    assert environment(Spawner(User("teacher", ["nn-instructors"]), [], [])) == "/etc/jupyter-course/all"
    assert "students" in environment(Spawner(User("s001", ["nn-students"]), [], []))


def test_the_set_up_job_makes_what_the_mounts_need(values):
    job = next(d for d in yaml.safe_load_all((K8S / "exchange-pvc.yaml").read_text()) if d["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    mounts, _, _ = pod(values, "s001", ["nn-students"])
    parents = {m["subPath"].rsplit("/", 1)[0] if "s001" in m["subPath"] else m["subPath"] for m in mounts}
    assert parents == {"nn-in-python/outbound", "nn-in-python/inbound", "nn-in-python/feedback"}
    for folder in parents:
        assert f"/exchange/{folder}" in script, folder
    uid, gid = values["singleuser"]["uid"], values["singleuser"]["fsGid"]
    assert f"chown {uid}:{gid} /exchange/nn-in-python " in script
