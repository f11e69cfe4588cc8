"""``hsgd bound ...`` and ``hsgd bench bounds``."""
from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``hsgd bound``."""


def register_bench(targets: argparse._SubParsersAction) -> None:
    """Add ``hsgd bench bounds``."""
