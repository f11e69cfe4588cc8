"""``hsgd simulate`` and ``hsgd bench engine`` (to be filled in by the engine work)."""

from __future__ import annotations

import argparse

__all__ = ["register", "register_bench"]


def register(commands: argparse._SubParsersAction) -> None:
    """Add the empirical module's top-level commands to the ``hsgd`` parser."""


def register_bench(targets: argparse._SubParsersAction) -> None:
    """Add the empirical module's targets to ``hsgd bench``."""
