"""Top-level (picklable) tasks for the sweep tests."""

import os
import uuid
from pathlib import Path


def square(config):
    """A deterministic result, and a marker file per call so tests can count executions.

    While the file ``config["interrupt"]`` exists, the configuration with ``x == 5`` fails,
    standing in for an interruption.
    """
    if config.get("calls"):
        Path(config["calls"], f"{config['x']}-{uuid.uuid4().hex}").touch()
    if config["x"] == 5 and config.get("interrupt") and Path(config["interrupt"]).exists():
        raise RuntimeError(f"interrupted at x = {config['x']}")
    return {"y": config["x"] ** 2 + 0.5, "pid": os.getpid()}
