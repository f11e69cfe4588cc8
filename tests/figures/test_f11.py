"""F11, does the bound rank designs correctly: the rank statistics, the JSON, the drawing, the files."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from empirical.cost import run_time
from figures.advise import design_name
from figures.paper.f11_ranking import (BAR, PROBLEMS, REGIMES, build_f11, chosen_over_best, designs_for, draw_f11,
                                 f11_data, oracle_rank, rank_agreement, regime_cost, summary,
                                 time_with_final_aggregation, within_bar)


@pytest.fixture(scope="module")
def data():
    return json.loads(json.dumps(f11_data(quick=True)))  # plain JSON, as saved


# --- the helpers, on constructed input ---------------------------------------------------------

def test_rank_agreement_is_one_when_the_orders_agree_and_spearman_otherwise():
    assert rank_agreement([1.0, 5.0, 7.0, 100.0], [0.01, 0.2, 0.3, 4.0]) == pytest.approx(1.0)
    assert rank_agreement([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one swapped pair of four: rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert rank_agreement([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(0.8)
    # designs not reached are left out by default (here the agreeing three remain) ...
    assert rank_agreement([1, 2, 3, 4], [0.1, 0.2, 0.3, None]) == pytest.approx(1.0)
    assert rank_agreement([3, 2, 1, 4], [0.1, 0.2, 0.3, None]) == pytest.approx(-1.0)
    # ... or ranked last: the fastest predicted never reaching the target pulls rho down
    assert rank_agreement([1, 2, 3, 4], [None, 0.1, 0.2, 0.3], not_reached_last=True) == pytest.approx(-0.2)
    assert rank_agreement([1, 2], [0.1, 0.2]) is None  # too few
    assert rank_agreement([1, 2, 3], [0.5, 0.5, 0.5]) is None  # measured constant: undefined


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 1e6), min_size=3, max_size=12, unique=True), st.floats(1e-3, 1e3),
       st.floats(0.5, 3.0))
def test_any_increasing_map_of_the_predicted_times_agrees_perfectly(predicted, scale, power):
    measured = [scale * p ** power for p in predicted]  # the same order, any constant-ratio-free curve
    reversed_ = [1.0 / m for m in measured]
    assume(len(set(measured)) == len(set(reversed_)) == len(predicted))  # no ties made by rounding
    assert rank_agreement(predicted, measured) == pytest.approx(1.0)
    assert rank_agreement(predicted, reversed_) == pytest.approx(-1.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0.01, 1e6), st.one_of(st.none(), st.floats(0.01, 1e6))), min_size=1,
                max_size=12))
def test_chosen_over_best_is_at_least_one_and_the_oracle_rank_is_a_place(pairs):
    predicted = [p for p, _ in pairs]
    measured = [m for _, m in pairs]
    ratio = chosen_over_best(predicted, measured)
    chosen = measured[predicted.index(min(predicted))]
    reached = [m for m in measured if m is not None]
    if chosen is None or not reached:
        assert ratio is None
    else:
        assert ratio >= 1 and ratio == pytest.approx(chosen / min(reached))
    rho = rank_agreement(predicted, measured)
    assert rho is None or -1 - 1e-12 <= rho <= 1 + 1e-12
    place = oracle_rank(predicted, measured)
    assert (place is None) == (not reached)
    if place is not None:
        assert 1 <= place <= len(pairs)
        if place == 1:  # the measured best is the bound's choice
            assert ratio == 1.0
        if ratio is not None and ratio > 1:
            assert place > 1


def test_oracle_rank_and_chosen_over_best_on_a_hand_made_case():
    predicted = [1.0, 2.0, 3.0, 4.0]
    measured = [0.4, 0.5, 0.1, None]  # the bound's third is the measured best
    assert chosen_over_best(predicted, measured) == pytest.approx(4.0)
    assert oracle_rank(predicted, measured) == 3


def test_within_bar_decides_on_the_per_seed_ratio():
    assert within_bar("c", [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]).holds is True  # the choice is the best
    assert within_bar("c", [1.6, 1.6, 1.6], [1.0, 1.0, 1.0]).holds is False
    assert within_bar("c", [1.0, 2.0, 1.2], [1.0, 1.0, 1.0]).state == "straddles"
    assert within_bar("c", [1.0], [1.0]).basis == "not applicable"


def test_time_with_final_aggregation_charges_one_global_aggregation_unless_aligned():
    cost = regime_cost("very slow global", 2)
    global_cost = cost.aggregation_costs(2, 10)[-1]
    assert global_cost > 1  # 2 x (1 s + 80 B / 1e7 B/s)
    assert time_with_final_aggregation(cost, [1, 20], 19, 10) == pytest.approx(run_time(cost, [1, 20], 19, 10)
                                                                               + global_cost)
    assert time_with_final_aggregation(cost, [1, 20], 40, 10) == run_time(cost, [1, 20], 40, 10)


@pytest.mark.parametrize("call, message", [
    (lambda: rank_agreement([1, 2, 3], [1, 2]), "^predicted and measured must have the same length"),
    (lambda: rank_agreement([1, -2, 3], [1, 2, 3]), "^predicted times must be finite non-negative"),
    (lambda: chosen_over_best([1, 2], [math.nan, 1]), "^measured times must be finite non-negative"),
    (lambda: chosen_over_best([], []), "^predicted must list at least one design"),
    (lambda: regime_cost("dial-up", 2), "^regime must be one of fast global"),
    (lambda: regime_cost("fast global", 4), "^M must be 1, 2 or 3"),
    (lambda: f11_data(quick=True, seeds=0), "^seeds must be a positive integer"),
])
def test_bad_inputs_one_line(call, message):
    with pytest.raises(ValueError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


def test_regimes_use_the_links_by_depth():
    assert [l.name for l in regime_cost("slow global", 1).levels] == ["global"]
    assert [l.name for l in regime_cost("slow global", 3).levels] == ["local", "middle", "global"]
    slow = regime_cost("slow global", 2).levels
    assert slow[1].latency == 100 * slow[0].latency  # slow global: global latency 100x local


# --- the data -------------------------------------------------------------------------------

def test_json_shape_every_problem_times_every_network(data):
    assert data["quick"] is True and set(data["problems"]) == set(PROBLEMS)
    cells = data["cells"]
    assert [(c["problem"], c["regime"]) for c in cells] == [(p, r) for p in PROBLEMS for r in REGIMES]
    names = [design_name(d) for d in designs_for(32, quick=True)]
    assert {d.M for d in designs_for(32, quick=True)} == {1, 2, 3}
    for c in cells:
        assert [r["name"] for r in c["designs"]] == names
        for key in ("spearman", "spearman_not_reached_last", "chosen_over_best_measured", "choice",
                    "best_measured", "best_measured_rank_in_bound", "common_step_size", "verdicts", "not_reached"):
            assert key in c
        assert c["n_reached"] + len(c["not_reached"]) == c["n_designs"] == len(names)
        for v in c["verdicts"].values():
            assert v["basis"] in ("statistical", "not applicable") and "claim" in v


def test_statistics_are_in_range_and_recomputable(data):
    for c in data["cells"]:
        assert c["spearman"] is None or -1 <= c["spearman"] <= 1
        assert c["chosen_over_best_measured"] is None or c["chosen_over_best_measured"] >= 1
        assert c["common_step_size"]["chosen_over_best"] is None or c["common_step_size"]["chosen_over_best"] >= 1
        predicted = [r["predicted_time"] for r in c["designs"]]
        measured = [r["measured_time"] for r in c["designs"]]
        assert c["spearman"] == rank_agreement(predicted, measured)
        assert c["chosen_over_best_measured"] == chosen_over_best(predicted, measured)
        assert c["choice"] == c["designs"][predicted.index(min(predicted))]["name"]


def test_predicted_and_measured_use_the_same_clock_and_not_reached_is_honest(data):
    for c in data["cells"]:
        problem = data["problems"][c["problem"]]
        for row, design in zip(c["designs"], problem["designs"]):
            cost = regime_cost(c["regime"], len(row["periods"]))
            assert row["predicted_time"] == pytest.approx(run_time(cost, row["periods"], design["predicted_steps"], 10))
            assert design["horizon"] <= min(design["predicted_steps"], data["max_steps"])
            if row["measured_time"] is None:  # some seed did not get there within the horizon simulated
                assert None in design["seed_steps"] and row["name"] in c["not_reached"]
            else:
                assert all(T <= design["horizon"] for T in design["seed_steps"])
                assert row["measured_time"] == pytest.approx(sum(
                    run_time(cost, row["periods"], T, 10) for T in design["seed_steps"]) / data["seeds"])
                assert row["measured_time"] < row["predicted_time"]  # the bound is an upper bound
    # the quick grid has designs not reached on the heterogeneous problem (shown apart, ranked last)
    assert any(c["not_reached"] for c in data["cells"] if c["problem"] == "heterogeneous")


def test_gamma_times_measured_steps_is_nearly_constant(data):
    """The module docstring's claim: at the bound's step sizes the measured T scales as 1/gamma."""
    for problem in data["problems"].values():
        gT = problem["gamma_times_measured_steps"]
        assert gT["max"] / gT["min"] < 1.25


def test_summary_is_one_line_with_the_verdicts_basis(data):
    line = summary(data)
    assert "\n" not in line and line.startswith("F11 (") and "(statistical)" in line
    assert f"within {BAR:g}x" in line
    for c in data["cells"]:
        assert f"{c['problem']}/{c['regime']}: Spearman" in line


def test_draws_labelled_log_axes_and_writes_its_files(data, tmp_path, monkeypatch):
    import figures.paper.f11_ranking as f11
    from figures.plotting import pyplot

    fig = draw_f11(data)
    try:
        scatter = fig.axes[:len(PROBLEMS)]
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_ylabel()
        assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in scatter)
    finally:
        pyplot().close(fig)
    monkeypatch.setattr(f11, "f11_data", lambda quick, executor=None: data)
    paths = build_f11(tmp_path, quick=True)
    assert sorted(p.name for p in paths) == ["f11_ranking.json", "f11_ranking.pdf", "f11_ranking.png"]
    assert json.loads((tmp_path / "f11_ranking.json").read_text())["cells"] == data["cells"]


def test_the_lower_panels_legend_is_in_the_lower_panel(data):
    """Issue 18: the legend of the lower panel's bars sat in the upper panel (titled 'lower panel')."""
    from figures.plotting import pyplot

    fig = draw_f11(data)
    try:
        top, bottom = fig.axes[-2], fig.axes[-1]
        assert top.get_legend() is None
        legend = bottom.get_legend()
        assert [t.get_text() for t in legend.get_texts()] == [
            "1.5x the measured best", "vs the best design at its own (bound's) step size",
            "vs the best design at one common step size (the bound's for minibatch)"]
        fig.canvas.draw()
        box, panel = legend.get_window_extent(), bottom.get_window_extent()
        assert panel.x0 <= box.x0 and box.x1 <= panel.x1 and panel.y0 <= box.y0 and box.y1 <= panel.y1
        for text in bottom.texts:  # the numbers and the choices in words stay readable
            assert not box.overlaps(text.get_window_extent()), text.get_text()
    finally:
        pyplot().close(fig)
