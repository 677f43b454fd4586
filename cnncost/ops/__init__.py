"""The ops: one definition per op (``registry``), the counting convention stated once (``costs``), one module
per family, and the ATen formulas for foreign modules (``aten``, imported on demand). Importing this package
registers every op; it never imports torch."""

from cnncost.ops import (  # noqa: F401  (registers the ops)
    activation,
    channelwise,
    conv,
    linear,
    merge,
    norm,
    passthrough,
    pool,
    resample,
    reshape,
)
from cnncost.ops.costs import Cost, elements
from cnncost.ops.registry import (
    FACETS,
    REQUIRED,
    Absent,
    Args,
    Field,
    OpDef,
    Reverse,
    all_ops,
    define,
    describes,
    every_op,
    find_op,
    get_op,
    implement,
    is_op,
    op_names,
    reverse_op,
)

__all__ = [
    "FACETS",
    "REQUIRED",
    "Absent",
    "Args",
    "Cost",
    "Field",
    "OpDef",
    "Reverse",
    "all_ops",
    "define",
    "describes",
    "elements",
    "every_op",
    "find_op",
    "get_op",
    "implement",
    "is_op",
    "op_names",
    "reverse_op",
]
