"""Modal's `modal.container_process`: the process `Sandbox.exec` starts."""

from ._sandbox import ContainerProcess

__all__ = ["ContainerProcess"]
