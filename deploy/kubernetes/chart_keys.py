"""The settings the Zero to JupyterHub Helm chart defines, as dotted paths, from the chart's values.schema.yaml.

    python deploy/kubernetes/chart_keys.py path/to/values.schema.yaml > deploy/kubernetes/z2jh-chart-keys.txt

(the schema is in the chart's repository, jupyterhub/values.schema.yaml, and in every packaged chart). A path that
ends in ``.*`` is a mapping the chart passes on as it is (``hub.config``, ``singleuser.extraEnv``, ...): anything
may be under it. Lists (``singleuser.storage.extraVolumes``) are Kubernetes objects and end the path.
tests/jupyter/test_hub_kubernetes.py checks every setting of values.yaml against the list, with no network.
"""

import sys

import yaml


def paths(node, prefix=""):
    properties = node.get("properties")
    if properties:
        for name, child in properties.items():
            yield from paths(child, f"{prefix}.{name}" if prefix else name)
        if node.get("additionalProperties") not in (False, None) or node.get("patternProperties"):
            yield f"{prefix}.*"
    elif "object" in node.get("type", []) and node.get("additionalProperties") is not False:
        yield f"{prefix}.*"
    else:
        yield prefix


def main(schema_file):
    schema = yaml.safe_load(open(schema_file))
    for path in sorted(set(paths(schema))):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1])
