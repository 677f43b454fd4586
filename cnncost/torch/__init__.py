"""The PyTorch road: spec IR → ``nn.Module`` (``build_module``) and meta-device verification (``verify``).

Importing this package needs PyTorch; without it, the import fails with cnncost's one-line
``MissingDependencyError``. Import it lazily, from inside the API function or CLI command that needs it.
"""

from __future__ import annotations

from cnncost.errors import require_torch

require_torch("the PyTorch builder")

from cnncost.torch.build import MERGE_OPS, build_module, builder_ops, register_builder  # noqa: E402
from cnncost.torch.verify import (  # noqa: E402
    VerifyResult,
    VerifyRow,
    count_with_torch,
    fvcore_flops,
    verify,
)

__all__ = [
    "MERGE_OPS",
    "VerifyResult",
    "VerifyRow",
    "build_module",
    "builder_ops",
    "count_with_torch",
    "fvcore_flops",
    "register_builder",
    "verify",
]
