"""The course's Jupyter kernel set-up: every kernel of the course's environment talks over encrypted sockets.

A Jupyter kernel and the program that drives it (JupyterLab, nbconvert, Jupyter Book, nbval, nbgrader) exchange
code and outputs over ZeroMQ sockets on the loopback interface. Out of the box jupyter_client sends them in plain
text, and ipykernel warns about it at every start ("Kernel is running over TCP without encryption"), seven times
in a cold build of the book. jupyter_client can encrypt the sockets with CurveZMQ, but only when the program that
starts the kernel asks for it, and the book's executor has no setting for that.

:class:`EncryptedLocalProvisioner` is jupyter_client's own local provisioner with the encryption policy 'auto':
it gives the kernel and its client a fresh CurveZMQ key pair whenever the kernelspec declares that it supports
Curve (ipykernel's does). ``python -m course_kernel`` names it in the environment's ``python3`` kernelspec, so every
program that starts a kernel from this environment uses it; ``make install`` runs that once.
"""

from jupyter_client.provisioning import LocalProvisioner

__all__ = ["EncryptedLocalProvisioner", "PROVISIONER_NAME"]

#: The entry-point name (pyproject.toml, group ``jupyter_client.kernel_provisioners``) a kernelspec refers to.
PROVISIONER_NAME = "course-encrypted-local"


class EncryptedLocalProvisioner(LocalProvisioner):
    """jupyter_client's LocalProvisioner with CurveZMQ transport encryption on by default ('auto').

    A manager configured explicitly ('required', or 'disabled' passed to ``start_kernel``) keeps its choice.
    """

    async def pre_launch(self, **kwargs):
        km = self.parent
        if km is not None and "transport_encryption" not in kwargs and km.transport_encryption == "disabled":
            kwargs["transport_encryption"] = "auto"
        return await super().pre_launch(**kwargs)
