"""The contract's records that the SDK builds in CPython (`wit_world.imports.types` in a
component): an app's functions describe their options with them when a script defines them,
and calls carry their options in them.

Invariant: the same names, fields and order as the bindings', so the code that builds them is
the same in both.
"""

import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class FunctionConfig:
    """Options of a function's containers and calls, each None unless set."""

    max_inputs: Optional[int]
    target_inputs: Optional[int]
    max_containers: Optional[int]
    min_containers: Optional[int]
    buffer_containers: Optional[int]
    scaledown_window_secs: Optional[int]
    timeout_secs: Optional[int]
    memory_mib: Optional[int]
    cpu_millicores: Optional[int]
    retries: Optional[int]
    retry_delay_ms: Optional[int]
    backoff_coefficient: Optional[float]
    max_retry_delay_ms: Optional[int]


@dataclasses.dataclass(frozen=True)
class CallOptions:
    """A call's overrides of the callee's timeout and retries, and of its containers'
    options, secrets and volumes."""

    timeout_nanos: Optional[int]
    retries: Optional[int]
    containers: Optional[FunctionConfig]
    secrets: Optional[list] = None
    volumes: Optional[list] = None


@dataclasses.dataclass(frozen=True)
class SecretSource_Named:  # noqa: N801  (the bindings' name)
    """A secret kept by the host, by name."""

    value: str


@dataclasses.dataclass(frozen=True)
class SecretSource_Inline:  # noqa: N801  (the bindings' name)
    """Variables written in the app: `(key, value)` pairs."""

    value: list


@dataclasses.dataclass(frozen=True)
class VolumeMount:
    """A volume mounted in a function's containers."""

    path: str
    volume: str
    create_if_missing: bool


class Err(Exception):
    """The bindings' error for a failed import. Never raised over HTTP, where a failure raises
    its fnhost exception at once; named so that the SDK's `except Err` clauses read the same."""
