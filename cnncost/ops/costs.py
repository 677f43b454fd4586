"""The counting convention, stated once (CONVENTIONS.md): the cost primitives every formula is built from — the
op formulas a spec's layers get, and the ATen and Python-call formulas used on foreign modules alike.

- **params** are learnable parameters; **MACs** are multiply-accumulates of conv and linear (matrix-multiply)
  work only, bias excluded; **other ops** are counted by category beside them, never folded into MACs.
- Every primitive is a pure function of sizes; none knows about torch, specs or batches. A caller multiplies by
  the batch (or whatever leading dimension it has).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from cnncost.frozen import field, frozen


@frozen
class Cost:
    """What one layer costs for one image. ``formula`` shows the MACs in the course's notation."""

    params: int = 0
    macs: int = 0
    other: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    formula: str | None = None

    @property
    def other_total(self) -> int:
        return sum(self.other.values())


def cost(params: int = 0, macs: int = 0, **other: int) -> Cost:
    """A Cost with the other-op categories that are not zero."""
    return Cost(params, macs, MappingProxyType({k: v for k, v in other.items() if v}))


def elements(shape: Iterable[int]) -> int:
    """Values in a tensor of ``shape``: the product of its sizes."""
    return math.prod(int(d) for d in shape)


def conv_macs(c_out: int, c_in_per_group: int, kernel: Iterable[int], out_spatial: Iterable[int]) -> int:
    """Convolution: each of the ``C_out · prod(out spatial)`` output values is a dot product of one filter of
    ``prod(kernel) · (C_in / groups)`` weights with its input window, one MAC per weight:
    ``MACs = prod(kernel) · (C_in/groups) × C_out × prod(out spatial)``, bias excluded.

    (A transposed convolution is the same product with input and output swapped: its weight is ``C_in ×
    C_out/groups × kernel`` and every *input* value is multiplied by one filter — pass the input's spatial sizes.)
    """
    return int(c_out) * int(c_in_per_group) * elements(kernel) * elements(out_spatial)


def conv_transpose_macs(c_in: int, c_out_per_group: int, kernel: Iterable[int], in_spatial: Iterable[int]) -> int:
    """Transposed convolution, counted from its *input* as FlopCounterMode counts it: every one of the ``C_in ·
    prod(in spatial)`` input values is multiplied by one filter of ``prod(kernel) · (C_out/groups)`` weights (the
    weight is ``C_in × C_out/groups × kernel``) and each product accumulated into one output value:
    ``MACs = prod(kernel) · (C_out/groups) × C_in × prod(in spatial)`` — ``conv_macs`` with input and output
    swapped, bias excluded. Products that land in the cropped border (``padding``) are counted too, as PyTorch
    computes them before cropping."""
    return conv_macs(c_in, c_out_per_group, kernel, in_spatial)


def linear_macs(n_in: int, n_out: int) -> int:
    """Fully connected: every output unit is a dot product with every input, ``MACs = in × out``."""
    return int(n_in) * int(n_out)


def matmul_macs(a_shape: Iterable[int], n: int) -> int:
    """A (batched) matrix product ``(b…, m, k) @ (k, n)``: ``b·m`` rows, each a linear map ``k → n``:
    ``MACs = b·m·k·n`` (``linear_macs`` over the rows)."""
    return linear_macs(elements(a_shape), n)


def pointwise_ops(n_elements: int) -> int:
    """One operation per output value: a bias addition, an activation, a residual addition, an element-wise
    product."""
    return int(n_elements)


def window_ops(out_elements: int, window: Iterable[int]) -> int:
    """Pooling: each output reads one window, ``prod(window)`` operations (comparisons or additions) per output
    value."""
    return int(out_elements) * elements(window)


def adaptive_window_total(n: int, o: int) -> int:
    """Adaptive pooling along one axis of length ``n`` to ``o`` outputs: PyTorch's window ``i`` spans
    ``[floor(i·n/o), ceil((i+1)·n/o))``; the sum of the window lengths (the values read along that axis)."""
    return sum(-(-((i + 1) * n) // o) - (i * n) // o for i in range(o))


def affine_ops(n_elements: int) -> int:
    """A normalization at inference (batch norm; layer and group norm's scale and shift): a multiply and an
    add per value, ``2 × elements``; the statistics are not counted."""
    return 2 * int(n_elements)


def interpolation_ops(out_elements: int, neighbours: int) -> int:
    """Interpolating resampling: each output value is a weighted sum of ``neighbours`` input values (bilinear: the
    4 around it), one weighted read each, ``out_elements × neighbours`` (fvcore counts bilinear upsampling as 4 per
    output value too); nearest-neighbour resampling copies one value: 0. The weights, shared by a whole row or
    column of the output, are not counted."""
    return int(out_elements) * int(neighbours)


def lrn_ops(n_elements: int, size: int) -> int:
    """Local response normalization: each value is divided by a power of the sum of squares over ``size``
    neighbouring channels, ``elements × size``."""
    return int(n_elements) * int(size)
