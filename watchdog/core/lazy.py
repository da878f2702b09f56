"""Heavy libraries imported on first use, so the daemon pays for what its configuration uses.

paramiko (with cryptography and PyNaCl) is ~23 MB of a daemon's RSS, and the SSH parameters
are part of every configuration's model: without this, a town with SNMP targets only carried
it all the same. ``paramiko = lazy_module("paramiko")`` gives an object whose first attribute
access imports the real module; ``except paramiko.SSHException`` and ``paramiko.Transport(...)``
read as before.

paramiko's config module imports invoke (~45 modules, 7 MB: invoke pulls unittest.mock and
PyYAML's loader chain) only to run ``Match exec`` lines of OpenSSH client config files, which
muni-watchdog never reads (it pins host keys and reads its own configuration). paramiko
treats invoke as optional (``try: import invoke``), so the import is skipped: when nothing in
the process has imported invoke yet, its entry in ``sys.modules`` is set to None, which makes
``import invoke`` raise ImportError as for an absent package.
"""

from __future__ import annotations

import importlib
import sys
import threading
from types import ModuleType

# Optional imports of a library that muni-watchdog never uses, skipped before the library
# loads: library -> the modules it would import for nothing.
SKIPPED: dict[str, tuple[str, ...]] = {"paramiko": ("invoke",)}

_lock = threading.Lock()


def import_lean(name: str) -> ModuleType:
    """Import ``name`` without the optional imports listed in :data:`SKIPPED`."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    with _lock:
        for skipped in SKIPPED.get(name.partition(".")[0], ()):
            sys.modules.setdefault(skipped, None)  # type: ignore[arg-type]
        return importlib.import_module(name)


class LazyModule:
    """A module imported (lean) on the first attribute read."""

    def __init__(self, name: str):
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str):
        module = self._module
        if module is None:
            module = self._module = import_lean(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy_module(name: str) -> LazyModule:
    return LazyModule(name)
