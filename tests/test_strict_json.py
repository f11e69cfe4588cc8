"""Issue 18 item 17: every JSON text hsgd writes or prints is strict JSON (no bare ``Infinity``/``NaN``).

Non-finite floats are written as the strings ``"inf"``, ``"-inf"``, ``"nan"``
(:func:`empirical.io.json_text`), and :func:`empirical.io.read_json` reads them back as floats.
"""

from __future__ import annotations

import contextlib
import io
import json
import math

from empirical.io import json_text, read_json, write_json
from figures.cli import main


def strict(text: str):
    """Parse ``text`` with a parser that refuses ``Infinity``, ``-Infinity`` and ``NaN``."""
    def refuse(token: str):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_floats_are_strings_and_read_back():
    payload = {"ratio": math.inf, "low": -math.inf, "ci": [math.nan, 1.5], "nested": ({"m": float("inf")},)}
    parsed = strict(json_text(payload))
    assert parsed == {"ratio": "inf", "low": "-inf", "ci": ["nan", 1.5], "nested": [{"m": "inf"}]}
    back = read_json(json_text(payload))
    assert back["ratio"] == math.inf and back["low"] == -math.inf and math.isnan(back["ci"][0])


def test_written_files_are_strict(tmp_path):
    path = write_json(tmp_path / "power_theorem2.json", {"margin": math.inf, "score": 0.5})
    assert strict(path.read_text()) == {"margin": "inf", "score": 0.5}


def test_check_json_with_one_seed_is_strict_on_stdout_and_on_disk(tmp_path):
    """One seed: no confidence interval (NaN ends), which was printed and saved as bare NaN."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["check", "--seeds=1", "--steps=10", "--workers=1", "--json", "--no-progress",
                     f"--out-dir={tmp_path}"])
    assert code == 0
    printed = strict(out.getvalue())
    assert printed["empirical_ci95"]["hsgd"] == ["nan", "nan"]
    saved = strict((tmp_path / "check.json").read_text())
    assert saved["empirical_ci95"]["local_G"] == ["nan", "nan"]


def test_hsgd_power_writes_and_prints_an_infinite_margin_as_strict_json(tmp_path, monkeypatch):
    """A diverged run kills 'condition x4' with an infinite margin: ``Infinity`` in power_theorem2.json before."""
    import figures.power
    from bounds.instance import Instance
    from figures.power import Evidence, analyse

    x = Instance(gamma=2.0, L=1.0, sigma=0.0, F0=0.5, n=1, T=10, periods=(1,), counts=(1, 1), eps=(0.0,))
    report = analyse([Evidence("diverged", "crafted", x, (math.inf,), True, "init")], "theorem2")
    report.update(dropped={"diverged": 1, "estimated constants": 0}, quick=True)
    assert any(m["margin"] == math.inf for m in report["mutants"])
    monkeypatch.setattr(figures.power, "power_report", lambda *args, **kwargs: report)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["power", "--quick", "--json", "--workers=1", "--no-progress", f"--out-dir={tmp_path}"]) == 0
    printed = strict(out.getvalue())
    saved = strict((tmp_path / "power_theorem2_quick.json").read_text())
    assert printed == saved and "inf" in [m["margin"] for m in saved["mutants"]]
