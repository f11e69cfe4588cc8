"""What a simulation recorded (:class:`SimulationResult`), and saving and loading it.

Results are ``.npz`` arrays plus JSON metadata, written atomically.

``save_result(result, "run")`` writes ``run.npz`` (the arrays) and ``run.json`` (project
version, configuration, divergence report and any extra metadata such as the problem's
constants), each through a temporary file and a rename, so nothing half-written is left.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from empirical.io import atomic_write_bytes, json_text, read_json

__all__ = ["SimulationResult", "save_result", "load_result", "project_version"]


@dataclass
class SimulationResult:
    """What :func:`empirical.simulate` recorded.

    Attributes:
        steps: the recorded step indices ``t`` (before step ``t``), shape ``(R,)``.
        grad_norm_sq: ``||grad f(u^t)||^2``, shape ``(seeds, R)``.
        loss: ``f(u^t)``, shape ``(seeds, R)``.
        divergence: per-level model divergences ``Delta_1..Delta_M`` (docs/theory.md §2.1
            Definitions), shape ``(seeds, R, M)``.
        config: the run's configuration (JSON-able).
        diverged: ``None``, or ``{"step": t, "seed": s}`` where a non-finite value stopped it.
    """

    steps: NDArray[np.int64]
    grad_norm_sq: NDArray[np.float64]
    loss: NDArray[np.float64]
    divergence: NDArray[np.float64]
    config: dict[str, Any]
    diverged: dict[str, int] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def upward(self) -> NDArray[np.float64]:
        """Divergence of the top level (groups around the global model), ``(seeds, R)``.
        For local SGD (one level) this is the workers around the global model."""
        return self.divergence[..., -1]

    @property
    def downward(self) -> NDArray[np.float64]:
        """Divergence of all lower levels (workers around their top-level group), ``(seeds, R)``;
        zero for local SGD."""
        return self.divergence[..., :-1].sum(axis=-1)

    @property
    def running_avg(self) -> NDArray[np.float64]:
        """Running mean of ``grad_norm_sq`` over the recorded steps, ``(seeds, R)``. With
        ``record_every = 1`` its last column is the theorems' left-hand side for each seed
        (docs/theory.md §1.4 Horizon and recording convention)."""
        counts = np.arange(1, self.grad_norm_sq.shape[-1] + 1)
        return np.cumsum(self.grad_norm_sq, axis=-1) / counts

    def average_grad_norm_sq(self) -> NDArray[np.float64]:
        """Per seed, the average of ``||grad f(u^t)||^2`` over the recorded steps, ``(seeds,)``."""
        return self.grad_norm_sq.mean(axis=-1)

    def save(self, path: str) -> None:
        """Save as ``.npz`` plus JSON metadata (see :mod:`empirical.results`)."""
        save_result(self, path)

    def timeline(self, cost_model: Any) -> Any:
        """The wall-clock-equivalent time axis of the recorded steps under ``cost_model``.

        Entry ``r`` describes the ``t = steps[r]`` steps done before ``u^t`` was recorded: its
        time, per-level aggregation counts and bytes (an :class:`empirical.cost.Timeline`;
        the model is in :mod:`empirical.cost`). Computed from :attr:`config` (periods and
        dimension), so a loaded result has it too; nothing is saved.
        """
        from empirical.cost import timeline

        return timeline(cost_model, self.config["hierarchy"]["periods"], self.steps, d=len(self.config["x0"]))



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
    js = atomic_write_bytes(stem.with_suffix(".json"), (json_text(meta, default=_jsonable) + "\n").encode())
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
    meta = read_json(stem.with_suffix(".json").read_text())
    with np.load(stem.with_suffix(".npz")) as data:
        arrays = {name: data[name] for name in ARRAYS}
    result = SimulationResult(config=meta["config"], diverged=meta["diverged"], extra=meta.get("extra", {}), **arrays)
    result.extra.setdefault("hsgd_version", meta.get("hsgd_version"))
    return result
