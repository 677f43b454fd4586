"""A spec, by name or path, to its resolved network: ``library.locate`` then ``resolve.resolve_document``.

The one road from a spec to an IR network for every layer above this one (the API, the benchmarks), so none of
them needs to go through the API to get a network.
"""

from __future__ import annotations

from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from cnncost import ir
from cnncost.spec import library
from cnncost.spec.resolve import resolve_document


def load_network(
    spec: str | PathLike[str] | ir.Network,
    *,
    size: tuple[int, int] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> ir.Network:
    """Resolve a bundled network name, a spec path (``str``, ``FILE.yaml:VARIANT``) or a ``pathlib.Path`` into its
    IR network; an already resolved ``Network`` is returned as it is (size and variables apply to specs only)."""
    if isinstance(spec, ir.Network):
        if size is not None or variables:
            raise TypeError("size and variables apply to specs, not to an already resolved Network")
        return spec
    found = library.locate(Path(spec) if isinstance(spec, PathLike) else spec)
    return resolve_document(found.doc, file=found.file, variant=found.variant, variables=variables, size=size)
