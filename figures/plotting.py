"""Shared by the figures: a file backend, one colour per run, plain names, bands, and verdict words.

Figures keep their verdicts as JSON (:meth:`figures.verdicts.Verdict.to_json`: ``holds``,
``basis``, ``claim``, ``detail``), so that a figure's title and its one-line summary can be
written from the saved data alone. :func:`verdict_words` and :func:`tally` turn them into words:
never a bare boolean, always the basis, and "not applicable" with the reason.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["COLOURS", "pyplot", "run_names", "thin", "band_json", "draw_band", "verdict_words", "tally",
           "reason", "wrap", "sandwich_words"]

COLOURS = {"local_I": "tab:green", "hsgd": "tab:orange", "local_G": "tab:blue"}


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (figures go to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def run_names(first: int, last: int, middle: str = "H-SGD") -> dict[str, str]:
    """Plain names of the three runs of a sandwich, for legends: local SGD with the first
    period, ``middle``, local SGD with the last period.

    Example:
        >>> run_names(5, 50)["local_G"]
        'local SGD, period 50'
    """
    return {"local_I": f"local SGD, period {first}", "hsgd": middle, "local_G": f"local SGD, period {last}"}


def thin(length: int, most: int = 600) -> np.ndarray:
    """Indices ``0 .. length - 1`` thinned to at most about ``most`` evenly spaced ones, the
    last index always kept (a curve saved to JSON at plotting resolution).

    Example:
        >>> thin(10, 4).tolist()
        [0, 3, 6, 9]
    """
    if length < 1 or most < 2:
        raise ValueError(f"length must be >= 1 and most >= 2, got length={length}, most={most}")
    step = max(1, -(-(length - 1) // (most - 1)))
    idx = np.arange(0, length, step)
    return idx if idx[-1] == length - 1 else np.append(idx, length - 1)


def band_json(mean: ArrayLike, low: ArrayLike, high: ArrayLike, idx: ArrayLike | None = None) -> dict[str, list]:
    """A curve with its 95% band as JSON lists (``nan`` bands, one seed, become ``None``)."""
    out = {}
    for key, values in (("mean", mean), ("low", low), ("high", high)):
        arr = np.asarray(values, dtype=float)
        arr = arr if idx is None else arr[np.asarray(idx)]
        out[key] = [None if not np.isfinite(v) else float(v) for v in arr]
    return out


def draw_band(ax: Any, x: ArrayLike, curve: Mapping[str, Sequence[float | None]], *, colour: str, label: str,
              **line: Any) -> None:
    """Plot ``curve["mean"]`` against ``x`` with its band shaded (skipped where it is ``None``)."""
    x = np.asarray(x, dtype=float)
    ax.plot(x, np.asarray(curve["mean"], dtype=float), color=colour, label=label, **line)
    lo = np.array([np.nan if v is None else v for v in curve["low"]], dtype=float)
    hi = np.array([np.nan if v is None else v for v in curve["high"]], dtype=float)
    if np.any(np.isfinite(lo)):
        ax.fill_between(x, lo, hi, color=colour, alpha=0.25, lw=0)


def wrap(text: str, width: int = 70) -> str:
    """``text`` broken into lines of at most ``width`` characters (for titles).

    Example:
        >>> print(wrap("a b c", 3))
        a b
        c
    """
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def reason(verdict: Mapping[str, Any], limit: int = 160) -> str:
    """The first reason a not-applicable verdict gives, shortened to ``limit`` characters."""
    text = str(verdict.get("detail", "")).split("; ")[0]
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def verdict_words(verdict: Mapping[str, Any], *, yes: str = "yes", no: str = "no", undecided: str = "undecided",
                  limit: int = 90) -> str:
    """A verdict's JSON in words, with its basis: ``"yes (statistical)"``, ``"no (exact)"``,
    ``"undecided (statistical)"`` (or another word for it, e.g. ``"inconclusive"``) or
    ``"not applicable (<reason>)"``.

    Example:
        >>> verdict_words({"holds": None, "basis": "not applicable", "detail": "1 seed: no interval"})
        'not applicable (1 seed: no interval)'
        >>> verdict_words({"holds": True, "basis": "exact", "detail": ""}, yes="in order")
        'in order (exact)'
    """
    basis = verdict.get("basis")
    if basis == "not applicable":
        return f"not applicable ({reason(verdict, limit)})"
    holds = verdict.get("holds")
    word = undecided if holds is None else (yes if holds else no)
    return f"{word} ({basis})"


SIDE_WORDS = {"in order": "above 0", "equal": "0", "indistinguishable": "indistinguishable from 0",
              "reversed": "reversed (below 0)"}
"""What each state of a side of the measured sandwich (:func:`figures.verdicts.paired_order`) says
about its paired difference."""


def sandwich_words(verdict: Mapping[str, Any], *, level: float | None = None, limit: int = 90) -> str:
    """The measured sandwich's verdict (the JSON of :func:`figures.verdicts.sandwich_order`, its
    sides in ``parts``) in words: what each paired difference showed, and what that allows.

    A side is "above 0", "indistinguishable from 0", "reversed (below 0)" at the confidence
    level of its interval, or, when every seed gave the same difference (floating point),
    "above 0", "0" or "reversed (below 0)" in every seed. The conclusion is the verdict's:
    "sandwich shown" only when it holds, "undecided" when a side is indistinguishable from 0,
    "sandwich fails" when a side is reversed, "not applicable (<reason>)" otherwise. ``level``:
    the confidence level the sides were decided at (default :data:`figures.verdicts.LEVEL`).

    Example:
        >>> side = lambda state, holds: {"holds": holds, "basis": "statistical", "state": state,
        ...                              "detail": "b - a = 0.01, 95% CI 0.005 .. 0.015"}
        >>> sandwich_words({"holds": True, "basis": "statistical",
        ...                 "parts": {"lower side": side("in order", True), "upper side": side("in order", True)}})
        'both differences above 0 at 95%: sandwich shown'
        >>> sandwich_words({"holds": None, "basis": "statistical", "parts": {
        ...     "lower side": side("indistinguishable", None), "upper side": side("in order", True)}})
        'lower side indistinguishable from 0 at 95%, upper side above 0 at 95%: undecided'
        >>> sandwich_words({"holds": None, "basis": "not applicable", "parts": {"lower side": {
        ...     "holds": None, "basis": "not applicable", "detail": "1 seed: no confidence interval can be formed"}}})
        'not applicable (1 seed: no confidence interval can be formed)'
    """
    if level is None:
        from figures.verdicts import LEVEL as level
    parts = verdict.get("parts") or {}
    if verdict.get("basis") == "not applicable":
        first = next((part for part in parts.values() if part.get("basis") == "not applicable"), verdict)
        return f"not applicable ({reason(first, limit)})"
    if not parts:
        return verdict_words(verdict, yes="sandwich shown", no="sandwich fails", limit=limit)
    phrases = []
    for part in parts.values():
        state, basis = part.get("state"), part.get("basis")
        if state not in SIDE_WORDS:  # a side without a state: its verdict in words
            phrases.append(verdict_words(part, yes="in order", no="reversed", limit=limit))
        elif basis == "statistical":
            phrases.append(f"{SIDE_WORDS[state]} at {100 * level:g}%")
        else:
            phrases.append(f"{SIDE_WORDS[state]} in every seed")
    if len(set(phrases)) == 1 and len(phrases) == 2:
        shown = f"both differences {phrases[0]}"
    else:
        shown = ", ".join(f"{side} {phrase}" for side, phrase in zip(parts, phrases))
    holds = verdict.get("holds")
    equal = any(part.get("state") == "equal" for part in parts.values())
    conclusion = ("undecided" if holds is None else "sandwich fails" if not holds else
                  "sandwich holds, with equality" if equal else "sandwich shown")
    return f"{shown}: {conclusion}"


def tally(verdicts: Sequence[Mapping[str, Any]], noun: str, *, yes: str = "holds", no: str = "fails",
          limit: int = 160) -> str:
    """Several verdicts (as JSON) in one phrase: how many hold, fail, are undecided or not
    applicable (with the first reason), and on what basis.

    Example:
        >>> v = {"holds": True, "basis": "statistical"}
        >>> tally([v, v, {"holds": None, "basis": "statistical"}], "panels")
        'holds on 2 of 3 panels, undecided on 1 (statistical)'
        >>> tally([{"holds": None, "basis": "not applicable", "detail": "L estimated"}], "runs")
        'not applicable on 1 of 1 runs (L estimated)'
    """
    if not verdicts:
        raise ValueError("verdicts must not be empty")
    total = len(verdicts)
    applicable = [v for v in verdicts if v.get("basis") != "not applicable"]
    missing = [v for v in verdicts if v.get("basis") == "not applicable"]
    parts = []
    if applicable:
        holding = sum(v.get("holds") is True for v in applicable)
        failing = sum(v.get("holds") is False for v in applicable)
        undecided = len(applicable) - holding - failing
        phrase = f"{yes} on {holding} of {total} {noun}"
        if failing:
            phrase += f", {no} on {failing}"
        if undecided:
            phrase += f", undecided on {undecided}"
        bases = sorted({str(v.get("basis")) for v in applicable})
        parts.append(f"{phrase} ({', '.join(bases)})")
    if missing:
        lead = f"not applicable on {len(missing)} of {total} {noun}" if not applicable else \
            f"not applicable on {len(missing)}"
        parts.append(f"{lead} ({reason(missing[0], limit)})")
    return "; ".join(parts)
