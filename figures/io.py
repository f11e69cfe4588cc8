"""Saving figures atomically: a figure's files (PNG, PDF and the JSON behind them) appear
together or not at all (:func:`empirical.io.write_together`: all written to temp files, then all
renamed), so an interrupted or failed save never leaves ``f9_audit.json`` without its PNG."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, Sequence

from empirical.io import json_text, write_together

__all__ = ["save_figure", "publish", "figure_bytes", "SAVE_DPI"]

SAVE_DPI = 150
"""The resolution of every saved figure (dots per inch; the PNG's pixels, the PDF's images)."""


def figure_bytes(fig: Any, fmt: str) -> bytes:
    """A matplotlib figure rendered as ``fmt`` (``"png"``, ``"pdf"``) at :data:`SAVE_DPI`."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=SAVE_DPI, bbox_inches="tight")
    return buffer.getvalue()


def save_figure(fig: Any, stem: str | os.PathLike[str], formats: Sequence[str] = ("png", "pdf")) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` and ``stem.pdf``: rendered first, then written
    together (all or none)."""
    return write_together({Path(f"{stem}.{fmt}"): figure_bytes(fig, fmt) for fmt in formats})


def publish(fig: Any, data: Any, stem: str | os.PathLike[str]) -> list[Path]:
    """Save a figure (PNG, PDF) and the data behind it (strict JSON) under ``stem``, all three
    together or none, then close it."""
    import matplotlib.pyplot as plt

    try:
        files = {Path(f"{stem}.{fmt}"): figure_bytes(fig, fmt) for fmt in ("png", "pdf")}
        files[Path(f"{stem}.json")] = (json_text(data) + "\n").encode()
        return write_together(files)
    finally:
        plt.close(fig)
