"""Sweeps that scale out and resume: any ``concurrent.futures.Executor``, one file per result.

A sweep maps a picklable, top-level function over a list of configurations (JSON-able
dicts). Each result is written, atomically, to ``out_dir/<key>.json`` as soon as it
finishes, where ``key`` is a hash of the configuration; a re-run skips every configuration
whose file exists. So an interrupted sweep loses nothing that finished and repeats nothing.

The executor is :func:`figures.executor.executor`'s: a local process pool by default, this
process for ``max_workers=1`` (the configurations then run one after the other, in order), or
a Dask cluster's::

    from figures.executor import executor
    with executor(scheduler="tcp://scheduler:8786") as pool:   # or executor(workers=2)
        results = run_sweep(task, configs, "out/sweep", executor=pool)

Any other object with the ``Executor`` interface (``submit`` returning futures that
``concurrent.futures.as_completed`` accepts) works the same, ``client.get_executor()`` of a
``dask.distributed`` client among them.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from figures.executor import executor as make_executor
from figures.executor import is_inline

__all__ = ["config_key", "run_sweep", "load_sweep"]


def config_key(config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit key of a JSON-able configuration (key order does not matter).

    Example:
        >>> config_key({"a": 1, "b": [2, 3]}) == config_key({"b": [2, 3], "a": 1})
        True
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _result_path(out_dir: Path, config: Mapping[str, Any]) -> Path:
    return out_dir / f"{config_key(config)}.json"


def load_sweep(configs: Sequence[Mapping[str, Any]], out_dir: str | os.PathLike[str]) -> list[Any | None]:
    """The stored result of each configuration, ``None`` where it has not been computed."""
    out = Path(out_dir)
    results: list[Any | None] = []
    for config in configs:
        path = _result_path(out, config)
        results.append(json.loads(path.read_text())["result"] if path.exists() else None)
    return results


def run_sweep(
    task: Callable[[dict[str, Any]], Any],
    configs: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    description: str = "sweep",
) -> list[Any]:
    """Run ``task(config)`` for every configuration not already stored in ``out_dir``.

    Args:
        task: a top-level (picklable) function of one configuration dict, returning a
            JSON-able result.
        configs: the configurations (JSON-able dicts); duplicates are computed once.
        out_dir: where results live, one ``<key>.json`` each (created if needed).
        executor: where to run (:func:`figures.executor.executor`, shared with other work);
            default ``executor(max_workers)``, made and shut down here.
        max_workers: processes of the default executor (default: one per CPU; ``1`` runs the
            configurations in this process, in order); never more than the configurations to
            run nor the CPUs (:func:`figures.executor.pool_size`).
        progress: show a progress bar (tqdm) on standard error.
        description: the progress bar's label.

    Returns:
        The results, in the order of ``configs``.

    Raises:
        ValueError: if a configuration is not JSON-able.
        Whatever ``task`` raised, after every result that finished before it was written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    unique: dict[str, dict[str, Any]] = {}
    for i, config in enumerate(configs):
        try:
            unique.setdefault(config_key(config), dict(config))
        except TypeError as err:
            raise ValueError(f"configs[{i}] is not JSON-able: {err}") from None
    todo = {key: cfg for key, cfg in unique.items() if not (out / f"{key}.json").exists()}
    if todo:
        own = executor is None
        pool = make_executor(max_workers, tasks=len(todo)) if own else executor
        try:
            _run(pool, task, todo, out, progress, description, total=len(unique))
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
    return load_sweep(configs, out)


def _run(pool: Executor, task: Callable[[dict[str, Any]], Any], todo: dict[str, dict[str, Any]],
         out: Path, progress: bool, description: str, total: int) -> None:
    from empirical.io import write_json
    from tqdm import tqdm

    bar = tqdm(total=total, initial=total - len(todo), desc=description, disable=not progress, unit="config")
    if is_inline(pool):  # this process: one configuration at a time, in order, each stored as it ends
        try:
            for key, cfg in todo.items():
                write_json(out / f"{key}.json", {"config": cfg, "result": pool.submit(task, cfg).result()})
                bar.update(1)
        finally:
            bar.close()
        return
    futures: dict[Future, str] = {pool.submit(task, cfg): key for key, cfg in todo.items()}
    try:
        for future in as_completed(futures):
            key = futures[future]
            result = future.result()  # re-raises the task's error; finished files stay
            write_json(out / f"{key}.json", {"config": todo[key], "result": result})
            bar.update(1)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        bar.close()
