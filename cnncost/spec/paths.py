"""What a layer may be named, so that module paths can follow PyTorch's.

A name is one step of a dotted module path (``layer1.0.downsample.0``): an identifier (``conv1``) or a whole
number (``0``: ``nn.Sequential`` numbers its children so, and ``cnncost`` names repeat copies so). A repeat's
``names`` pattern may also join words with hyphens (``block1-0``: torchvision's RegNet names its blocks so). A dot
would split the path; anything else would not be a module name PyTorch could register and look up again.
"""

from __future__ import annotations

import re

_HYPHENATED = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)+\Z")


def is_layer_name(name: object, *, hyphens: bool = False) -> bool:
    """Whether ``name`` (a string) can be one step of a module path: an identifier or a whole number (with
    ``hyphens``, also ASCII words joined by hyphens)."""
    if not isinstance(name, str):
        return False
    if name.isidentifier() or (name.isascii() and name.isdigit()):
        return True
    return hyphens and name.isascii() and _HYPHENATED.match(name) is not None


def layer_name(raw: object, *, hyphens: bool = False) -> str | None:
    """A layer name as written (``conv1``, ``0``, ``"0"``) as the path step it is; None if it cannot be one (a
    negative or fractional number, a dot, a space, a hyphen unless ``hyphens``, an empty string, true/false)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw) if raw >= 0 else None
    return raw if isinstance(raw, str) and is_layer_name(raw, hyphens=hyphens) else None


def number_of(name: str) -> int | None:
    """The number a numeric name stands for (``"3"`` → 3), else None."""
    return int(name) if name.isascii() and name.isdigit() else None
