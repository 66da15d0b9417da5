"""Secrets (Modal's `modal.Secret`): environment variables a function's containers get.

`secrets=[fnhost.Secret.from_name("api"), fnhost.Secret.from_dict({"MODE": "test"})]` on
`@app.function()` or `@app.cls()` sets those variables in that function's (or class's)
containers only, read with `os.environ` as on Modal. A named secret is kept by the host
(`fnhost secret create api API_KEY=...`) and read as each container starts; a dict's are part
of the app. The host never prints a value: listings show names and keys.
"""

from typing import Mapping, Optional

from ._phase import types


class Secret:
    """Where some environment variables come from: a named secret of the host, or a dict."""

    def __init__(self, source: "types.SecretSource") -> None:
        self._source = source

    @staticmethod
    def from_name(name: str) -> "Secret":
        """The host's secret `name` (`fnhost secret create NAME KEY=VALUE ...`)."""
        if not isinstance(name, str) or not name:
            raise TypeError("a secret's name is a non-empty string")
        return Secret(types.SecretSource_Named(name))

    @staticmethod
    def from_dict(env_dict: Mapping[str, Optional[str]]) -> "Secret":
        """These variables; a key whose value is `None` is left out, as on Modal."""
        pairs = []
        for key, value in env_dict.items():
            if value is None:
                continue
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("a secret's keys and values are strings")
            pairs.append((key, value))
        return Secret(types.SecretSource_Inline(pairs))

    def __repr__(self) -> str:
        source = self._source
        if isinstance(source, types.SecretSource_Named):
            return f"Secret.from_name({source.value!r})"
        return f"Secret.from_dict(<{len(source.value)} variables>)"


def sources(secrets) -> list:
    """The contract's `secret-source`s of a function's `secrets=`, checked."""
    if isinstance(secrets, Secret):
        raise TypeError("`secrets` is a list: write `secrets=[secret]`")
    found = []
    for secret in secrets:
        if not isinstance(secret, Secret):
            raise TypeError(f"`secrets` holds fnhost.Secret values, not {type(secret).__name__}")
        found.append(secret._source)
    return found
