"""Saving figures atomically (PNG, PDF and the JSON behind them), through :mod:`empirical.io`."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

from empirical.io import atomic_write_bytes, write_json

__all__ = ["save_figure", "publish", "SAVE_DPI"]

SAVE_DPI = 150
"""The resolution of every saved figure (dots per inch; the PNG's pixels, the PDF's images)."""


def save_figure(fig: Any, stem: str | os.PathLike[str], formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` and ``stem.pdf``, each atomically."""
    paths = []
    for fmt in formats:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=SAVE_DPI, bbox_inches="tight")
        paths.append(atomic_write_bytes(Path(f"{stem}.{fmt}"), buffer.getvalue()))
    return paths


def publish(fig: Any, data: Any, stem: str | os.PathLike[str]) -> list[Path]:
    """Save a figure (PNG, PDF) and the data behind it (JSON) under ``stem``, then close it."""
    import matplotlib.pyplot as plt

    try:
        return save_figure(fig, stem) + [write_json(f"{stem}.json", data)]
    finally:
        plt.close(fig)
