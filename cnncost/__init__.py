"""cnncost: what a convolutional network costs before you train it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncost.version import __version__

__all__ = [
    "CnnCostError",
    "__version__",
    "analyze",
    "analyze_module",
    "build",
    "check",
    "compare",
    "resolve",
    "verify",
]

if TYPE_CHECKING:
    from cnncost.api import analyze, analyze_module, build, check, compare, resolve, verify
    from cnncost.errors import CnnCostError


def __getattr__(name: str) -> Any:
    # The API is imported on first use, so `import cnncost` (and the CLI's start-up) stays light.
    # Timing is `cnncost.api.bench(...)`: `cnncost.bench` is the timing package itself.
    if name == "CnnCostError":
        from cnncost.errors import CnnCostError

        return CnnCostError
    if name in __all__:
        from cnncost import api

        return getattr(api, name)
    raise AttributeError(f"module 'cnncost' has no attribute {name!r}")
