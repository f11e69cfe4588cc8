"""F9, the proof-step audit figure: data, drawing, one-line summary and files."""

from __future__ import annotations

import json
import math

import pytest

from figures.paper.f9_audit import RUNS, build_f9, draw_f9, f9_data, summary


@pytest.fixture(scope="module")
def data():
    return f9_data(quick=True)


def test_f9_data_audits_both_runs_and_every_link_holds(data):
    assert set(data["runs"]) == set(RUNS)
    default, witness = data["runs"]["default"], data["runs"]["witness"]
    # the default problem has noise (links in expectation), the witness none (every link exact)
    assert default["constants"]["sigma"] > 0 and witness["constants"]["sigma"] == 0
    for run in (default, witness):
        for name, link in run["inequalities"].items():
            assert link["holds"] in ((None,) if link["kind"] == "charge" else (True,)), (name, link["detail"])
            if link["worst_ratio"] is not None and link["kind"] != "charge":
                assert link["worst_ratio"] >= 1 - 1e-9 or link["kind"] == "expectation"
        f = run["factors"]
        assert f["theorem_over_measured"] == pytest.approx(f["descent_chain"] * f["divergence_chain"], rel=1e-9)
        assert f["theorem_over_measured"] > 1
    # the saved witness: measured / bound as in the library (the audit re-runs it with the same engine)
    entry = data["witness_entry"]
    assert 1 / witness["factors"]["theorem_over_measured"] == pytest.approx(entry["ratio_bound"], rel=1e-6)
    assert 1 / witness["factors"]["theorem_over_measured"] != pytest.approx(2 * entry["ratio_bound"], rel=1e-3)


def test_f9_summary_is_one_line_with_both_factors(data):
    line = summary(data)
    assert "\n" not in line and line.startswith("F9")
    for key in RUNS:
        value = data["runs"][key]["factors"]["theorem_over_measured"]
        assert f"{key}: Theorem 2/measured {value:.3g}" in line
    assert "fail" not in line
    broken = json.loads(json.dumps(data))
    broken["runs"]["witness"]["inequalities"]["gradient_gap"]["holds"] = False
    assert "fail: gradient_gap" in summary(broken)


def test_f9_draws_labelled_axes_and_writes_its_files(data, tmp_path):
    fig = draw_f9(data)
    try:
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
            assert ax.get_xscale() == "log" or ax.get_yscale() == "log"
        titles = " ".join(ax.get_title() for ax in fig.axes)
        for word in ("gamma =", "L =", "T =", "F0 ="):
            assert word in titles
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    paths = build_f9(tmp_path, quick=True)
    assert sorted(p.name for p in paths) == ["f9_audit.json", "f9_audit.pdf", "f9_audit.png"]
    saved = json.loads((tmp_path / "f9_audit.json").read_text())
    assert saved["quick"] is True and math.isfinite(saved["runs"]["default"]["totals"]["theorem2"])
