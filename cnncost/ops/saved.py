"""What an op keeps for backward: the ``saved`` facet's record, read by the memory model
(``cnncost.analysis.memory``).

PyTorch's autograd keeps, per op, the tensors its backward formula reads (``derivatives.yaml``): a conv its input,
batch norm its input and per-channel statistics, ReLU its output, max-pooling its input and int64 indices, dropout
its mask. Some of those are tensors the forward pass made anyway (the op's input or output: kept alive longer,
no new bytes of their own); the rest are new tensors made for backward only (indices, masks, statistics). An
op's ``saved`` facet says which, as a :class:`Saved`: the tensors it keeps, what its output is (new memory, or the
input itself / a view of it), and any scratch tensors its forward makes and drops on the way.

Every figure is per image (``per_image``) or in all; the memory model multiplies by the batch and the dtype's
size. ``dtype`` is a class, not a size: ``activation`` (the activations' dtype: fp32, or bf16/fp16 under
autocast), ``int64`` (indices), ``fp32`` (statistics, kept in fp32 under autocast too), ``mask`` (dropout's
mask: one byte per value on CUDA, ``native_dropout``; the activations' dtype on the CPU, where dropout is
``input · noise`` and keeps the noise), ``weight`` (the op's weight as its backward reads it: the parameter
itself in fp32, no new bytes; under autocast the low-precision copy autocast made, new bytes).
"""

from __future__ import annotations

from typing import NamedTuple

#: What a kept tensor may be besides a new one: the op's input, its output, or the second operand of a merge.
INPUT, OUTPUT, OTHER = "input", "output", "other"
#: The dtype classes of ``Kept.dtype``.
DTYPES = ("activation", "int64", "fp32", "mask", "weight")


class Kept(NamedTuple):
    """One tensor an op keeps for backward. ``what`` is ``input``, ``output`` or ``other`` (a tensor the forward
    pass holds anyway: no new bytes) or the name of a new tensor (``indices``, ``mean``, ``mask`` …) of
    ``elements`` values (per image when ``per_image``) of the dtype class ``dtype``."""

    what: str
    elements: int = 0
    dtype: str = "activation"
    per_image: bool = True
    #: kept only when the op's own weights train (a matrix product keeps its input for the weight's gradient
    #: alone: addmm/mm save ``mat1`` only when ``mat2`` requires grad)
    if_trained: bool = False

    @property
    def new(self) -> bool:
        """Whether this is a tensor of its own (not the op's input, output or other operand)."""
        return self.what not in (INPUT, OUTPUT, OTHER)


class Saved(NamedTuple):
    """An op's memory behaviour in one training step: the tensors it keeps for backward (``kept``); whether its
    output is the input itself or a view of it (``alias``: no new bytes; ``alias_eval`` the same at inference,
    where dropout and stochastic depth are the identity); and ``scratch``, the most its forward holds at once
    besides its input, output and kept tensors, freed before it returns (``scratch_eval`` the same at inference,
    where nothing is kept: max-pooling's indices are made and dropped)."""

    kept: tuple[Kept, ...] = ()
    alias: bool = False
    alias_eval: bool = False
    scratch: tuple[Kept, ...] = ()
    scratch_eval: tuple[Kept, ...] = ()


def new(what: str, elements: int, dtype: str = "activation", *, per_image: bool = True) -> Kept:
    """A new tensor kept for backward."""
    if dtype not in DTYPES:
        raise ValueError(f"no dtype class {dtype!r} (classes: {', '.join(DTYPES)})")
    return Kept(what, elements, dtype, per_image)


def keeps(
    *kept: Kept,
    alias: bool = False,
    alias_eval: bool | None = None,
    scratch: tuple[Kept, ...] = (),
    scratch_eval: tuple[Kept, ...] | None = None,
) -> Saved:
    """A ``Saved`` record; ``alias_eval`` defaults to ``alias``, ``scratch_eval`` to ``scratch``."""
    return Saved(
        tuple(kept),
        alias,
        alias if alias_eval is None else alias_eval,
        scratch,
        scratch if scratch_eval is None else scratch_eval,
    )


#: The op's input or output, kept: no new bytes, a longer life.
KEEP_INPUT = Kept(INPUT)
KEEP_OUTPUT = Kept(OUTPUT)
KEEP_OTHER = Kept(OTHER)
#: The input, kept only when the op's weights train (linear layers).
KEEP_INPUT_IF_TRAINED = Kept(INPUT, if_trained=True)
