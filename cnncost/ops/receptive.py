"""The receptive field of one unit, and the rules the ops' ``receptive_field`` facets are written with.

Notation (CONVENTIONS.md, "Receptive field"): a unit of a feature map sees ``r`` input pixels along an axis, and
moving one unit along that axis moves its window ``j`` input pixels (the *jump*, the product of the strides so
far). A window op of kernel ``k``, dilation ``d`` and stride ``s`` maps ``(r, j)`` to::

    r_out = r_in + (k − 1)·d·j_in        j_out = j_in·s

Pooling is a window like a conv of its kernel; ops that work on each position alone (activations, batchnorm,
1×1-free reshuffles of channels) keep ``(r, j)``. Both axes are kept apart, since kernels can be ``[h, w]``.

Three facts are not a window of pixels, and are said as such rather than given a made-up number:

- **the whole input** (``whole``): after a global pool or a linear layer every value depends on every input
  pixel. ``size`` and ``jump`` are then None and ``reason`` says which op made it so.
- **no positions**: a flatten keeps each value's own receptive field (``size``) but the vector has no positions,
  so no jump (``jump`` None, ``reason`` says so); the linear layer after it reads them all.
- **upsampling** makes the jump a fraction: an upsample by ``s`` divides it by ``s`` (``j/s`` on average). Nearest
  neighbour copies one input unit (``r`` unchanged); bilinear reads two neighbours per axis (``r + j``); a
  transposed convolution of kernel ``k``, dilation ``d`` and stride ``s`` gathers at most
  ``⌈(d·(k − 1) + 1)/s⌉`` input units into an output unit, so ``r + (⌈(d·(k − 1) + 1)/s⌉ − 1)·j``. The grid it
  leaves is uneven: ``s`` neighbouring outputs read the same inputs, then one moves a whole input step ``j`` on.
  A later window of ``n`` steps therefore spans at most ``⌈n·(j/s)/j⌉`` whole input steps: that is what ``r``
  grows by (``step`` keeps the largest distance between neighbours). On such a grid ``r`` is the most a unit can
  span — an upper bound, reached by the worst-placed unit — and the renderers mark it (``RF.exact``).

Nothing here imports torch. Jumps are whole numbers (``int``) until an upsampling makes one a fraction, kept
exact as a ``Fraction`` (imported only then: ``fractions`` loads ``decimal``, which start-up does not need).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Union

from cnncost.frozen import frozen

if TYPE_CHECKING:
    from fractions import Fraction

Pair = tuple[int, int]
#: A jump or step: a whole number of pixels, or a fraction of one after upsampling.
Jump = Union[int, "Fraction"]
JumpPair = tuple[Jump, Jump]


@frozen
class RF:
    """The receptive field of a unit: ``size`` (r_h, r_w) in input pixels and ``jump`` (j_h, j_w), or — when the
    unit depends on the whole input — ``size`` and ``jump`` None and ``reason`` saying why.

    ``step`` is None on an even grid (neighbouring units are exactly ``jump`` apart). After upsampling the grid is
    uneven — several neighbouring units read the same coarse unit, then one steps a whole coarse unit — and
    ``step`` (s_h, s_w) is the largest distance between neighbours, in input pixels."""

    size: Pair | None
    jump: JumpPair | None
    reason: str | None = None
    step: JumpPair | None = None

    @property
    def whole(self) -> bool:
        """Whether every input pixel reaches the unit (after a global pool or a linear layer)."""
        return self.size is None

    @property
    def exact(self) -> bool:
        """Whether ``size`` is exact (an even grid) rather than the most an uneven grid can span."""
        return self.step is None

    @staticmethod
    def input() -> RF:
        """A pixel of the input itself: it sees 1×1 pixels, and its neighbour is 1 pixel away."""
        return RF((1, 1), (1, 1))

    @staticmethod
    def whole_input(reason: str) -> RF:
        return RF(None, None, reason)


def flattened(rf: RF, reason: str) -> RF:
    """A vector of the values: each keeps its receptive field, none has a position (no jump)."""
    return rf if rf.size is None else RF(rf.size, None, reason)


def _pair(value: object) -> Pair:
    if isinstance(value, (tuple, list)):
        return (int(value[0]), int(value[1]))
    return (int(value), int(value))  # type: ignore[call-overload]


def _axis(r: int, j: Jump, step: Jump | None, span: int, stride: int) -> tuple[int, Jump, Jump | None]:
    """One axis of a window ``span`` units wide ((k − 1)·d) moved by ``stride``.

    Even grid: r + span·j, j·s. Uneven grid (after upsampling): neighbours are 0 or ``step`` apart, and a step
    comes at most once in every ``step/j`` neighbours, so ``span`` units cover at most ⌈span·j/step⌉ steps, and a
    stride of s units at most ⌈s·j/step⌉ — the most the grid can span, an upper bound."""
    if step is None:
        return r + math.ceil(span * j), j * stride, None
    ratio = _fraction(step) / j
    grown = r + math.ceil(span / ratio) * math.ceil(step)
    new_step = math.ceil(stride / ratio) * step
    new_jump = j * stride
    return grown, new_jump, None if new_step == new_jump else new_step


def window(rf: RF, kernel: object, stride: object = 1, dilation: object = 1) -> RF:
    """A window of ``kernel`` (dilated by ``dilation``) moved by ``stride``: r + (k − 1)·d·j, j·s per axis."""
    if rf.size is None or rf.jump is None:
        return rf  # the shape rule refuses a window on a vector before this is asked
    (k_h, k_w), (s_h, s_w), (d_h, d_w) = _pair(kernel), _pair(stride), _pair(dilation)
    step = rf.step or (None, None)
    r_h, j_h, t_h = _axis(rf.size[0], rf.jump[0], step[0], (k_h - 1) * d_h, s_h)
    r_w, j_w, t_w = _axis(rf.size[1], rf.jump[1], step[1], (k_w - 1) * d_w, s_w)
    steps = None if t_h is None and t_w is None else (t_h or j_h, t_w or j_w)
    return RF((r_h, r_w), (j_h, j_w), step=steps)


def unchanged(rf: RF) -> RF:
    """An op on each position alone: the same receptive field and jump."""
    return rf


def _fraction(value: Jump) -> Fraction:
    from fractions import Fraction

    return Fraction(value)


def upsampled(rf: RF, scale: tuple[Fraction, Fraction], reach: object = 1) -> RF:
    """Upsampling by ``scale`` (output units per input unit, per axis), each output unit reading at most
    ``reach`` neighbouring input units per axis (nearest: 1; bilinear: 2; a transposed convolution:
    ``transposed_reach``): ``r`` grows by ``(reach − 1)`` input steps, the jump divides by the scale, and the
    grid becomes uneven — neighbouring outputs read the same input or the next one, up to a whole input step
    apart (``step``)."""
    if rf.size is None or rf.jump is None:
        return rf
    (s_h, s_w), (n_h, n_w) = scale, _pair(reach)
    (r_h, r_w), (j_h, j_w) = rf.size, rf.jump
    c_h, c_w = rf.step or rf.jump  # the largest distance between neighbouring input units
    size = (r_h + (n_h - 1) * math.ceil(c_h), r_w + (n_w - 1) * math.ceil(c_w))
    jump = (_fraction(j_h) / s_h, _fraction(j_w) / s_w)
    return RF(size, jump, step=None if (c_h, c_w) == jump else (c_h, c_w))


def transposed_reach(kernel: int, stride: int, dilation: int) -> int:
    """Input units along one axis that reach one output unit of a transposed convolution, at most: the
    ``d·(k − 1) + 1`` wide scatter of each input lands on a stride-``s`` grid, so ⌈(d·(k − 1) + 1)/s⌉."""
    return -(-(dilation * (kernel - 1) + 1) // stride)


def merge(paths: list[RF]) -> RF:
    """Paths that meet (branches joined by concat or split, a residual addition, a gate multiplying its input):
    the largest path wins — per axis the largest size and jump; a path that sees the whole input makes the result
    see the whole input. This is the one rule every join uses."""
    whole = next((p for p in paths if p.whole), None)
    if whole is not None:
        return whole
    sizes = [p.size for p in paths if p.size is not None]
    jumps = [p.jump for p in paths if p.jump is not None]
    size = (max(s[0] for s in sizes), max(s[1] for s in sizes))
    if len(jumps) < len(paths):  # a vector met: no positions
        return RF(size, None, next(p.reason for p in paths if p.jump is None))
    jump = (max(j[0] for j in jumps), max(j[1] for j in jumps))
    steps = [p.step or p.jump for p in paths if p.jump is not None]
    step = (max(t[0] for t in steps), max(t[1] for t in steps))
    return RF(size, jump, step=None if step == jump else step)
