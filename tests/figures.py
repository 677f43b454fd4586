"""Helpers the zoo tests share: a figure as a source prints it."""

from __future__ import annotations


def rounds_to(value: int, printed: str) -> bool:
    """Whether ``value`` (MACs) rounds to ``printed`` GMACs at the digits printed: 4,089,184,256 → "4.089"."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return round(value / 1e9, decimals) == float(printed)
