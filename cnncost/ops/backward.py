"""The backward facet's vocabulary: what a training step asks of one op, and what its backward pass costs.

Convention (CONVENTIONS.md, "Training cost (backward)"): a conv or linear layer's backward is two products,
each the size of its forward one — the gradient with respect to the input (``grad_out ⋆ W``), computed only when
the op's input needs a gradient, and with respect to the weights (``grad_out ⋆ x``), computed only when its
weights are trainable. Those are MACs. Everything else a backward pass computes (bias gradients, batchnorm,
activation, pooling gradients, the sums where a tensor's gradients from several consumers meet) is counted by
category beside them, as forward counts its other ops, never folded into MACs. Each op's formula is stated in
the docstring of its ``backward`` function, at the end of its family module.

Pure Python, per image; the caller multiplies by the batch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from cnncost.frozen import field, frozen


@frozen
class Needs:
    """What a training step needs of one op's backward.

    ``input``: the gradient with respect to its input (some layer below it has trainable parameters);
    ``weights``: the gradients of its own parameters (they are trainable); ``bn_train``: batchnorm normalizes
    with the batch's statistics (PyTorch's ``.train()``) rather than its running ones (``.eval()``).
    """

    input: bool
    weights: bool
    bn_train: bool = True

    @property
    def any(self) -> bool:
        """Whether the op takes part in the backward pass at all."""
        return self.input or self.weights


@frozen
class BackwardCost:
    """One op's backward cost for one image: MACs of the input gradient and of the weight gradients, and the
    other operations by category (the forward categories: ``bias``, ``batchnorm``, ``activation`` …)."""

    grad_input_macs: int = 0
    grad_weight_macs: int = 0
    other: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def macs(self) -> int:
        return self.grad_input_macs + self.grad_weight_macs

    @property
    def other_total(self) -> int:
        return sum(self.other.values())


def backward_cost(grad_input: int = 0, grad_weight: int = 0, **other: int) -> BackwardCost:
    """A BackwardCost with the other-op categories that are not zero."""
    return BackwardCost(int(grad_input), int(grad_weight), MappingProxyType({k: int(v) for k, v in other.items() if v}))


NOTHING = BackwardCost()


def product_backward(forward_macs: int, bias_values: int, needs: Needs) -> BackwardCost:
    """A conv, transposed conv or linear layer: the input gradient and the weight gradient are each one product
    the size of the forward one (``forward_macs``); the bias gradient sums the output gradient over positions,
    one addition per output value (``bias_values``: the output values that carry a bias, 0 without bias)."""
    if not needs.any:
        return NOTHING
    return backward_cost(
        grad_input=forward_macs if needs.input else 0,
        grad_weight=forward_macs if needs.weights else 0,
        bias=bias_values if needs.weights else 0,
    )


def normalization_backward(n: int, needs: Needs, *, batch_statistics: bool) -> int:
    """A normalization ``y = γ·x̂ + β`` over ``n`` values, ``x̂ = (x − μ)/σ``: the other ops of its backward.

    With statistics of the data itself (batchnorm in train mode, layer norm), the input gradient is
    ``(γ/σ)·(g − mean(g) − x̂·mean(g·x̂))``: ``x̂`` again (2 per value), the sums ``Σg`` and ``Σg·x̂`` (3 per
    value), then a multiply, two subtractions and the scale (4 per value): **9 per value**, and the parameter
    gradients ``Σg``, ``Σg·x̂`` come with it. With fixed statistics (batchnorm in eval mode), the input gradient
    is ``g·γ/σ``: **1 per value**. The parameter gradients alone, ``dβ = Σg`` and ``dγ = Σg·x̂``: **5 per
    value** (1 + 2 for x̂ + 2) — added to the eval-mode input gradient, included in the train-mode one."""
    if needs.input and batch_statistics:
        return 9 * n
    return (n if needs.input else 0) + (5 * n if needs.weights else 0)
