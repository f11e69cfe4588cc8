"""Sweeps that scale out and resume: any ``concurrent.futures.Executor``, one file per result.

A sweep maps a picklable, top-level function over a list of configurations (JSON-able
dicts). Each result is written, atomically (a temp file, then ``os.replace``: an interrupt
leaves the old file or none, never half of one), to ``out_dir/<key>.json`` as soon as it
finishes, where ``key`` is a hash of the configuration; a re-run skips every configuration
whose file is valid. So an interrupted sweep loses nothing that finished and repeats nothing.
This is the one run cache of ``hsgd``: ``hsgd power``'s ``power_runs`` and the figures'
``*_runs`` folders (F3's battery, F8's evidence) are sweeps.

**A cached file is never trusted on sight.** Each holds its configuration, its result and a
stamp: the version of the code that produced it (:func:`code_stamp`: :data:`CACHE_VERSION`
and a hash of the task function's source) and a SHA-256 checksum of the configuration and
result (strict JSON, :func:`empirical.io.json_text`). On load a file must parse, hold those
keys, its own configuration, the current code's stamp, a matching checksum (an edited sample
is caught) and, when the sweep says what a result looks like (``validate``), a result of that
shape. Any other file is named in one line on standard error, ``hsgd: recomputing <path>:
<reason>``, and computed again.

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
import inspect
import json
import os
import sys
from concurrent.futures import Executor, Future, as_completed
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from empirical.io import json_text, read_json, write_json
from figures.executor import executor as make_executor
from figures.executor import is_inline

__all__ = ["CACHE_VERSION", "config_key", "code_stamp", "run_sweep", "load_sweep"]

CACHE_VERSION = 2
"""The version of every cached run (version 1: files without a stamp). Increase it when a change
outside a task function (the engine, a problem, a constant) changes what the tasks compute:
every cached run is then recomputed. A change of the task function itself changes
:func:`code_stamp` without it."""

Validator = Callable[[Any], "str | None"]
"""What a sweep's result must look like: ``validate(result)`` is ``None`` for a good result, else
the reason it is not (e.g. ``"no 'samples'"``)."""


def config_key(config: Mapping[str, Any]) -> str:
    """A stable 16-hex-digit key of a JSON-able configuration (key order does not matter).

    Example:
        >>> config_key({"a": 1, "b": [2, 3]}) == config_key({"b": [2, 3], "a": 1})
        True
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def code_stamp(task: Callable[..., Any]) -> str:
    """The version of the code a cached result of ``task`` comes from: :data:`CACHE_VERSION`, the
    task's qualified name and a hash of its source (of its name alone when the source cannot be
    read), as ``"<CACHE_VERSION>:<module>.<name>:<12 hex digits>"``."""
    name = f"{getattr(task, '__module__', '?')}.{getattr(task, '__qualname__', repr(task))}"
    try:
        source = inspect.getsource(task)
    except (OSError, TypeError):
        source = name
    return f"{CACHE_VERSION}:{name}:{hashlib.sha256(source.encode()).hexdigest()[:12]}"


def _checksum(config: Any, result: Any) -> str:
    """SHA-256 of the configuration and result as canonical strict JSON."""
    text = json_text({"config": config, "result": result}, indent=None, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _problem(path: Path, config: Mapping[str, Any], stamp: str, validate: Validator | None) -> tuple[Any, str | None]:
    """``(result, None)`` for a valid cached file, ``(None, reason)`` for any other (``reason``
    ``None`` when the file does not exist: not computed yet)."""
    if not path.exists():
        return None, None
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        return None, f"cannot be read ({getattr(err, 'strerror', None) or err})"
    if not text.strip():
        return None, "empty file"
    try:
        stored = read_json(text)
    except ValueError as err:
        return None, f"not JSON ({err})"
    if not isinstance(stored, dict):
        return None, "not a JSON object"
    for key in ("config", "result", "stamp"):
        if key not in stored:
            return None, f"no {key!r} (written by an older version or cut short)"
    if json_text(stored["config"], indent=None, sort_keys=True) != json_text(dict(config), indent=None, sort_keys=True):
        return None, "holds another configuration than its name says"
    mark = stored["stamp"]
    if not isinstance(mark, dict) or mark.get("code") != stamp:
        found = mark.get("code") if isinstance(mark, dict) else mark
        return None, f"stale: written by another version of the code ({found!r}, now {stamp!r})"
    if mark.get("checksum") != _checksum(stored["config"], stored["result"]):
        return None, "checksum mismatch: edited or damaged since it was written"
    if validate is not None:
        reason = validate(stored["result"])
        if reason:
            return None, f"unexpected result: {reason}"
    return stored["result"], None


def _store(path: Path, config: Mapping[str, Any], result: Any, stamp: str) -> Any:
    """Write one result with its stamp and checksum, atomically; return it as a reader sees it."""
    back = read_json(json_text({"config": dict(config), "result": result}, indent=None))
    write_json(path, {**back, "stamp": {"code": stamp, "checksum": _checksum(back["config"], back["result"])}})
    return back["result"]


def _load(configs: Sequence[Mapping[str, Any]], out: Path, stamp: str, validate: Validator | None,
          report: bool) -> dict[str, Any]:
    """The valid cached result per key; with ``report``, one line on standard error per file
    that exists and is not valid (``hsgd: recomputing <path>: <reason>``)."""
    found: dict[str, Any] = {}
    for config in configs:
        key = config_key(config)
        if key in found:
            continue
        path = out / f"{key}.json"
        result, reason = _problem(path, config, stamp, validate)
        if reason is None and path.exists():
            found[key] = result
        elif reason is not None and report:
            print(f"hsgd: recomputing {path}: {reason}", file=sys.stderr)
    return found


def load_sweep(configs: Sequence[Mapping[str, Any]], out_dir: str | os.PathLike[str], task: Callable[..., Any],
               *, validate: Validator | None = None) -> list[Any | None]:
    """The stored result of each configuration of ``task``'s sweep, ``None`` where there is no
    valid one (not computed yet, or a file that fails the checks of the module docstring)."""
    out = Path(out_dir)
    found = _load(configs, out, code_stamp(task), validate, report=False)
    return [found.get(config_key(config)) for config in configs]


def run_sweep(
    task: Callable[[dict[str, Any]], Any],
    configs: Sequence[Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    executor: Executor | None = None,
    max_workers: int | None = None,
    progress: bool = True,
    description: str = "sweep",
    validate: Validator | None = None,
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
        validate: what a result must look like (:data:`Validator`); a cached one that does not
            is recomputed.

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
    stamp = code_stamp(task)
    found = _load(list(unique.values()), out, stamp, validate, report=True)
    todo = {key: cfg for key, cfg in unique.items() if key not in found}
    if todo and executor is None:  # its own pool: shut down (at once on Ctrl-C) when the block ends
        with make_executor(max_workers, tasks=len(todo)) as pool:
            found.update(_run(pool, task, todo, out, stamp, progress, description, total=len(unique)))
    elif todo:
        found.update(_run(executor, task, todo, out, stamp, progress, description, total=len(unique)))
    return [found[config_key(config)] for config in configs]


def _run(pool: Executor, task: Callable[[dict[str, Any]], Any], todo: dict[str, dict[str, Any]],
         out: Path, stamp: str, progress: bool, description: str, total: int) -> dict[str, Any]:
    """Run ``todo`` on ``pool``, storing each result as it finishes; the results by key."""
    from tqdm import tqdm

    done: dict[str, Any] = {}
    bar = tqdm(total=total, initial=total - len(todo), desc=description, disable=not progress, unit="config")
    if is_inline(pool):  # this process: one configuration at a time, in order, each stored as it ends
        try:
            for key, cfg in todo.items():
                done[key] = _store(out / f"{key}.json", cfg, pool.submit(task, cfg).result(), stamp)
                bar.update(1)
        finally:
            bar.close()
        return done
    futures: dict[Future, str] = {pool.submit(task, cfg): key for key, cfg in todo.items()}
    try:
        for future in as_completed(futures):
            key = futures[future]
            result = future.result()  # re-raises the task's error; finished files stay
            done[key] = _store(out / f"{key}.json", todo[key], result, stamp)
            bar.update(1)
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        bar.close()
    return done
