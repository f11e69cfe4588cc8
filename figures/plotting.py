"""Matplotlib set-up shared by the figures: a file backend and one colour per run."""

from __future__ import annotations

from typing import Any

COLOURS = {"local_I": "tab:green", "hsgd": "tab:orange", "local_G": "tab:blue"}


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures go to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
