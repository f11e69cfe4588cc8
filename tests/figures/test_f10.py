"""F10, the Dirichlet partitions figure: data shape, the §7.3 claim on the data, verdicts, files (quick mode only)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import figures.paper.f10_partitions as f10
from bounds.instance import step_size_condition
from figures.paper.f10_partitions import GROUPINGS, QUICK_ALPHAS, draw_f10, f10_data, label_aware_grouping, summary


@pytest.fixture(scope="module")
def data():
    return f10_data(quick=True)


def plotted(row):
    """Every number F10 draws from one row."""
    yield row["eps"]
    for run in row["local"].values():
        yield run["bound"]
        yield from (run["measured"][k] for k in ("mean", "ci_low", "ci_high"))
    for g in row["groupings"].values():
        yield from (g["eps_l"], g["eps_g"], g["bound"], g["bound_position"])
        yield from (g["measured"][k] for k in ("mean", "ci_low", "ci_high"))
        yield from (g["position"][k] for k in ("mean", "ci_low", "ci_high"))


def test_f10_json_has_one_row_per_alpha_and_every_plotted_number_is_finite(data):
    saved = json.loads(json.dumps(data, allow_nan=False))  # JSON as written, no NaN
    assert saved["alphas"] == list(QUICK_ALPHAS) and [r["alpha"] for r in saved["rows"]] == list(QUICK_ALPHAS)
    assert (saved["n"], saved["N"], saved["I"], saved["G"], saved["quick"]) == (20, 4, 2, 10, True)
    for row in saved["rows"]:
        assert set(row["groupings"]) == set(GROUPINGS) and set(row["local"]) == {"local_I", "local_G"}
        assert sum(row["sizes"]) == 1438 and len(row["sizes"]) == 20
        assert row["partition"] == {"kind": "dirichlet", "n": 20, "alpha": row["alpha"], "seed": 0, "min_size": 1}
        values = list(plotted(row))
        assert values and all(isinstance(v, float) and math.isfinite(v) for v in values)
        for g in row["groupings"].values():
            assert len(g["measured"]["per_seed"]) == saved["seeds"]
            assert sorted(set(g["labels"])) == [0, 1, 2, 3]


def test_label_aware_grouping_raises_eps_g_at_the_smallest_alpha(data):
    """docs/theory.md §7.3: homogeneous groups push the divergence up to the global level."""
    first = data["rows"][0]
    assert first["alpha"] == min(data["alphas"])
    assert first["groupings"]["label-aware"]["eps_g"] >= first["groupings"]["random"]["eps_g"]
    # and less label skew means less divergence, for both groupings
    for g in GROUPINGS:
        assert data["rows"][-1]["groupings"][g]["eps_g"] < first["groupings"][g]["eps_g"]
    assert data["rows"][-1]["eps"] < first["eps"]


def test_f10_bounds_are_theorem_w_at_the_data_weights(data):
    for row in data["rows"]:
        p = np.array(row["sizes"]) / sum(row["sizes"])
        for run in row["local"].values():
            assert run["omega"] == pytest.approx(float(p @ p), rel=1e-12)
            assert run["bound"] == pytest.approx(sum(v for k, v in run["terms"].items()
                                                     if k not in ("total", "divergence")), rel=1e-12)
        lo, hi = row["local"]["local_I"]["bound"], row["local"]["local_G"]["bound"]
        for g in row["groupings"].values():
            assert sum(g["shares"]) == pytest.approx(1 - float(p @ p), rel=1e-12)  # they telescope to 1 - omega
            assert g["bound_position"] == pytest.approx((g["bound"] - lo) / (hi - lo), rel=1e-12)
            assert g["terms"]["init"] == pytest.approx(2 * row["F0"] / (data["gamma"] * data["steps"]), rel=1e-12)
    # gamma is the largest step size H-SGD's condition allows at the largest estimated L
    assert step_size_condition(data["gamma"], data["L_max"], (2, 10))
    assert not step_size_condition(float(np.nextafter(data["gamma"], 1.0)), data["L_max"], (2, 10))


def test_f10_verdicts_on_the_bounds_are_not_applicable_because_the_constants_are_estimated(data):
    theorem = data["verdicts"]["theorem"]
    assert theorem["holds"] is None and theorem["basis"] == "not applicable"
    assert "estimated" in theorem["detail"] and "not a guarantee" in theorem["detail"]
    for row in data["rows"]:
        assert {"L", "sigma", "eps_l", "eps_g"} <= set(row["estimated"])
        assert row["condition"]["basis"] == "not applicable" and "L is estimated" in row["condition"]["detail"]
        assert row["condition_at_estimate"]["holds"] is True and row["condition_at_estimate"]["basis"] == "exact"
        for run in row["local"].values():
            assert run["bound_valid"]["basis"] == "not applicable" and "estimated" in run["bound_valid"]["detail"]
        for g in row["groupings"].values():
            v = g["verdicts"]
            for name in ("bound_valid", "bound_sandwich"):
                assert v[name]["holds"] is None and v[name]["basis"] == "not applicable"
                assert "estimated constants" in v[name]["detail"]
            assert v["measured_sandwich"]["basis"] == "statistical"  # a measured ordering, not about the bound


def test_f10_summary_and_drawing(data, tmp_path, monkeypatch):
    line = summary(data)
    assert "\n" not in line and line.startswith("F10 (") and "Theorem W: not applicable (the constants L" in line
    fig = draw_f10(data)
    try:
        assert len(fig.axes) == 4
        for ax in fig.axes:
            assert ax.get_xscale() == "log" and ax.get_xlabel() and ax.get_ylabel()
        titles = " ".join(ax.get_title() for ax in fig.axes) + fig._suptitle.get_text()
        for word in ("not applicable", "estimated", "gamma =", "T ="):
            assert word in titles
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    monkeypatch.setattr(f10, "f10_data", lambda quick=False: data)  # the files, without recomputing
    paths = f10.build_f10(tmp_path, quick=True)
    assert sorted(p.name for p in paths) == ["f10_partitions.json", "f10_partitions.pdf", "f10_partitions.png"]
    assert json.loads((tmp_path / "f10_partitions.json").read_text())["rows"][0]["alpha"] == QUICK_ALPHAS[0]


@pytest.mark.parametrize("alphas", [[], [0.0], [0.5, -1.0], [float("inf")]])
def test_f10_rejects_bad_alphas(alphas):
    with pytest.raises(ValueError, match="alphas must be a non-empty list of finite numbers > 0"):
        f10_data(alphas=alphas)


def test_label_aware_grouping_puts_workers_with_the_same_labels_together():
    labels = np.repeat([0, 1, 2], 20)
    # workers 0, 2, 4: class 0 only; 1, 3, 5: class 2 only (interleaved, so index order would mix them)
    parts = [np.arange(0, 10) if j % 2 == 0 else np.arange(40, 50) for j in range(6)]
    groups = label_aware_grouping(labels, parts, 2)
    assert len(set(groups[[0, 2, 4]])) == 1 and len(set(groups[[1, 3, 5]])) == 1 and groups[0] != groups[1]
    assert label_aware_grouping(labels, [np.arange(60)] * 4, 2).tolist() == [0, 0, 1, 1]  # all alike: index order


@pytest.mark.parametrize("args, match", [
    ((np.array([0, 1]), [[0], [1]], 0), "N must be an integer between 1 and n = 2"),
    ((np.array([0, 1]), [[0], [1]], 3), "N must be an integer between 1 and n = 2"),
    ((np.array([0, 1]), [[0], []], 1), r"partition\[1\] must be a non-empty"),
    ((np.array([0.5, 1.0]), [[0], [1]], 1), "labels must be"),
])
def test_label_aware_grouping_rejects_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        label_aware_grouping(*args)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.just(n), st.integers(1, n), st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=6), min_size=n,
                                            max_size=n))))
def test_label_aware_grouping_is_n_groups_of_near_equal_size(case):
    n, N, worker_labels = case
    labels = np.concatenate([np.asarray(w) for w in worker_labels])
    cuts = np.cumsum([0] + [len(w) for w in worker_labels])
    parts = [np.arange(cuts[j], cuts[j + 1]) for j in range(n)]
    groups = label_aware_grouping(labels, parts, N)
    sizes = np.bincount(groups, minlength=N)
    assert groups.shape == (n,) and len(sizes) == N and sizes.min() >= n // N and sizes.max() <= -(-n // N)
