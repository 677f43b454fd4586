"""Peak arithmetic throughput and memory bandwidth of known devices, from the vendors' datasheets.

All figures are **dense** TFLOP/s (NVIDIA's datasheets print tensor-core figures "with sparsity", which are
twice the dense ones; the dense figure is what a convolution can reach) and memory bandwidth in GB/s.
``tf32``/``bf16`` are ``None`` where the hardware has no such tensor-core path (Turing, Volta).

A device that is not here (every CPU, most consumer GPUs) has an unknown peak: its results say so and print no
percentage, unless the user gives ``--peak`` (and ``--bandwidth`` for the per-layer roofline).
"""

from __future__ import annotations

import re

from cnncost.frozen import frozen


@frozen
class DevicePeak:
    """One row of the table: a device, its dense peaks per precision (TFLOP/s), its memory bandwidth."""

    name: str
    pattern: str
    fp32: float
    tf32: float | None
    bf16: float | None
    fp16: float
    bandwidth_gbs: float
    source: str

    def tflops(self, precision: str) -> float | None:
        """The peak for an *effective* precision (``fp32``, ``tf32``, ``bf16``, ``fp16``)."""
        value: float | None = getattr(self, precision)
        return value


_H100 = "NVIDIA H100 Tensor Core GPU datasheet"
_H200 = "NVIDIA H200 Tensor Core GPU datasheet"
_A100 = "NVIDIA A100 Tensor Core GPU datasheet"

#: Order matters: the first pattern that matches the device name wins (``H100 NVL`` before ``H100``).
DEVICE_PEAKS: tuple[DevicePeak, ...] = (
    # H100: SXM5 67 / 989* / 1,979* / 1,979* TFLOPS, 3.35 TB/s; PCIe 51 / 756* / 1,513*, 2 TB/s;
    # NVL 60 / 835* / 1,671*, 3.9 TB/s (* with sparsity: halved here).
    DevicePeak("NVIDIA H100 NVL", r"\bH100\b.*\bNVL\b", 60.0, 417.5, 835.5, 835.5, 3900.0, _H100),
    DevicePeak("NVIDIA H100 PCIe", r"\bH100\b.*\bPCIE\b", 51.0, 378.0, 756.0, 756.0, 2000.0, _H100),
    DevicePeak("NVIDIA H100 SXM", r"\bH100\b", 67.0, 495.0, 989.0, 989.0, 3350.0, _H100),
    # H200: SXM same compute as H100 SXM with 4.8 TB/s; NVL 60 / 835* / 1,671*, 4.8 TB/s.
    DevicePeak("NVIDIA H200 NVL", r"\bH200\b.*\bNVL\b", 60.0, 417.5, 835.5, 835.5, 4800.0, _H200),
    DevicePeak("NVIDIA H200 SXM", r"\bH200\b", 67.0, 495.0, 989.0, 989.0, 4800.0, _H200),
    # A100: 19.5 / 156 / 312 / 312 (dense) for every form factor; bandwidth by memory size and form factor.
    DevicePeak("NVIDIA A100 80GB PCIe", r"\bA100\b.*80GB.*PCIE|\bA100\b.*PCIE.*80GB", 19.5, 156.0, 312.0, 312.0,
               1935.0, _A100),
    DevicePeak("NVIDIA A100 80GB SXM", r"\bA100\b.*80GB", 19.5, 156.0, 312.0, 312.0, 2039.0, _A100),
    DevicePeak("NVIDIA A100 40GB", r"\bA100\b", 19.5, 156.0, 312.0, 312.0, 1555.0, _A100),
    # L40S: 91.6 / 183 / 362.05 / 362.05 (dense), 864 GB/s.
    DevicePeak("NVIDIA L40S", r"\bL40S\b", 91.6, 183.0, 362.05, 362.05, 864.0, "NVIDIA L40S datasheet"),
    # L4: 30.3 / 120* / 242* / 242*, 300 GB/s.
    DevicePeak("NVIDIA L4", r"\bL4\b", 30.3, 60.0, 121.0, 121.0, 300.0, "NVIDIA L4 Tensor Core GPU datasheet"),
    # A10: 31.2 / 62.5 / 125 / 125 (dense), 600 GB/s.
    DevicePeak("NVIDIA A10", r"\bA10\b", 31.2, 62.5, 125.0, 125.0, 600.0, "NVIDIA A10 Tensor Core GPU datasheet"),
    # T4: 8.1 FP32, 65 FP16 mixed precision, no TF32 or BF16 tensor cores, 320 GB/s.
    DevicePeak("NVIDIA T4", r"\bT4\b", 8.1, None, None, 65.0, 320.0, "NVIDIA T4 Tensor Core GPU datasheet"),
    # V100: SXM2 15.7 FP32 / 125 tensor; PCIe 14 / 112; 900 GB/s; no TF32 or BF16 tensor cores.
    DevicePeak("NVIDIA V100 PCIe", r"\bV100\b.*\bPCIE\b", 14.0, None, None, 112.0, 900.0,
               "NVIDIA V100 Tensor Core GPU datasheet"),
    DevicePeak("NVIDIA V100 SXM2", r"\bV100\b", 15.7, None, None, 125.0, 900.0,
               "NVIDIA V100 Tensor Core GPU datasheet"),
    # RTX 4090: 82.6 FP32, 82.6 TF32, 165.2 FP16/BF16 with FP32 accumulate (dense), 1,008 GB/s.
    DevicePeak("NVIDIA GeForce RTX 4090", r"\bRTX 4090\b", 82.6, 82.6, 165.2, 165.2, 1008.0,
               "NVIDIA Ada Lovelace GPU architecture whitepaper, appendix A"),
)


def lookup(device_name: str) -> DevicePeak | None:
    """The table row for a device name as torch reports it (``NVIDIA H100 80GB HBM3``), or None."""
    for row in DEVICE_PEAKS:
        if re.search(row.pattern, device_name, re.IGNORECASE):
            return row
    return None
