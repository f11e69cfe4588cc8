"""Saving and loading simulation results: ``.npz`` arrays plus JSON metadata, atomically.

``save_result(result, "run")`` writes ``run.npz`` (the arrays) and ``run.json`` (project
version, configuration, divergence report and any extra metadata such as the problem's
constants), each through a temporary file and a rename, so nothing half-written is left.
"""

from __future__ import annotations

import io
import json
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from empirical.engine import SimulationResult
from figures.io import atomic_write_bytes

__all__ = ["save_result", "load_result", "project_version"]

ARRAYS = ("steps", "grad_norm_sq", "loss", "divergence")


def project_version() -> str:
    """The installed version of the ``hsgd`` distribution."""
    try:
        return metadata.version("hsgd")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "unknown"


def _stem(path: str | Path) -> Path:
    p = Path(path)
    return p.with_suffix("") if p.suffix in (".npz", ".json") else p


def save_result(result: SimulationResult, path: str | Path) -> tuple[Path, Path]:
    """Write ``<path>.npz`` and ``<path>.json``; returns both paths."""
    stem = _stem(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: getattr(result, name) for name in ARRAYS})
    npz = atomic_write_bytes(stem.with_suffix(".npz"), buffer.getvalue())
    meta = {"hsgd_version": project_version(), "config": result.config, "diverged": result.diverged,
            "extra": result.extra}
    js = atomic_write_bytes(stem.with_suffix(".json"), (json.dumps(meta, indent=2, default=_jsonable) + "\n").encode())
    return npz, js


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in the metadata")


def load_result(path: str | Path) -> SimulationResult:
    """Read a result written by :func:`save_result`."""
    stem = _stem(path)
    meta = json.loads(stem.with_suffix(".json").read_text())
    with np.load(stem.with_suffix(".npz")) as data:
        arrays = {name: data[name] for name in ARRAYS}
    result = SimulationResult(config=meta["config"], diverged=meta["diverged"], extra=meta.get("extra", {}), **arrays)
    result.extra.setdefault("hsgd_version", meta.get("hsgd_version"))
    return result
