"""``python -m course_kernel``: name the encrypted provisioner in this environment's ``python3`` kernelspec.

Run by ``make install``; running it again changes nothing. Prints the kernelspec file it wrote.
"""

import json
import sys

from jupyter_client.kernelspec import KernelSpecManager

from . import PROVISIONER_NAME


def main():
    spec = KernelSpecManager().get_kernel_spec("python3")
    path = f"{spec.resource_dir}/kernel.json"
    with open(path) as file:
        data = json.load(file)
    if "curve" not in data.get("metadata", {}).get("supported_encryption", []):
        print(f"{path}: the python3 kernel does not declare CurveZMQ support; left unchanged", file=sys.stderr)
        return 1
    data["metadata"]["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME, "config": {}}
    with open(path, "w") as file:
        json.dump(data, file, indent=1)
        file.write("\n")
    print(f"{path}: kernels start through {PROVISIONER_NAME} (CurveZMQ-encrypted sockets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
