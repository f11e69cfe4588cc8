"""Command-line options shared by the commands (light: argparse only, so ``--help`` stays fast)."""

from __future__ import annotations

import argparse

__all__ = ["add_theorem_option", "DEFAULT_THEOREM"]

DEFAULT_THEOREM = "theorem2"
"""The theorem a command checks unless told otherwise: docs/theory.md §4.2 Theorem 2."""


def add_theorem_option(parser: argparse.ArgumentParser, default: str | None = DEFAULT_THEOREM,
                       default_text: str = DEFAULT_THEOREM) -> None:
    """``--theorem NAME``: a registered theorem (:data:`bounds.theorems.REGISTRY`) or a user's own
    as ``path/to/file.py:attr`` or ``module:attr``; resolved by :func:`bounds.theorems.theorem`
    when the command runs (an unknown one is one line naming what is accepted)."""
    parser.add_argument("--theorem", default=default, metavar="NAME",
                        help=f"the theorem checked (default {default_text}): a registered name (theorem2: docs/theory.md §4.2 "
                             "Theorem 2; sharp: §9.1 Theorem S; sharp_recursion: §9.2 Theorem S'; theorem_p: §10.3 Theorem P, with weights and partial participation; both derived for this project) or your own Theorem as "
                             "path/to/file.py:attr or module:attr (README, 'Your own theorem')")
