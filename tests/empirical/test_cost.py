"""The cost model (empirical/cost.py): counts against a hand count, the time axis of a run, bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import empirical as E
from empirical.cost import CostModel, LinkCost, aggregation_counts, run_time, timeline

TWO = CostModel([LinkCost(1.0, 4.0, "local"), LinkCost(10.0, 2.0, "global")], compute=0.5, model_bytes=8)


def test_hand_count_on_a_small_schedule():
    """Periods (2, 6), 13 steps. After steps t = 1, 3, 7, 9 (t + 1 = 2, 4, 8, 10) the groups
    average; after t = 5, 11 (t + 1 = 6, 12) everyone does; t = 12 is a plain step.
    local: 2 (1 + 8/4) = 6 s; global: 2 (10 + 8/2) = 28 s; compute 0.5 s per step."""
    tl = timeline(TWO, [2, 6], np.arange(14))
    assert tl.costs == (6.0, 28.0)
    assert tl.links == ("local", "global")
    assert tl.aggregations[13].tolist() == [4, 2]
    assert tl.aggregations[6].tolist() == [2, 1]  # steps 0..5: t = 1, 3 local; t = 5 global
    assert tl.aggregations[5].tolist() == [2, 0]
    assert tl.time[13] == 13 * 0.5 + 4 * 6 + 2 * 28
    assert tl.time[6] == 6 * 0.5 + 2 * 6 + 28
    assert tl.bytes[13].tolist() == [4 * 16, 2 * 16]  # up and down, 8 bytes each way
    assert tl.compute_time[13] + tl.communication_time[13] == tl.time[13]
    assert run_time(TWO, [2, 6], 13) == tl.time[13]


@st.composite
def nested_periods(draw: st.DrawFn) -> list[int]:
    periods = [draw(st.integers(1, 5))]
    for _ in range(draw(st.integers(0, 2))):
        periods.append(periods[-1] * draw(st.integers(1, 4)))
    return periods


@settings(max_examples=40, deadline=None)
@given(periods=nested_periods(), T=st.integers(0, 200))
def test_counts_and_time_agree_with_the_engines_schedule(periods, T):
    """Step by step with the hierarchy's own rule (the highest level whose period divides t + 1)."""
    M = len(periods)
    h = E.Hierarchy.multi_level(8, periods, [4, 2][:M - 1], grouping="contiguous") if M > 1 else E.Hierarchy.local_sgd(8, periods[0])
    net = CostModel([LinkCost(0.1 * (k + 1), 1.0 + k) for k in range(3)], compute=0.25, model_bytes=3)
    counts = [0] * M
    for t in range(T):
        level = h.level_to_aggregate(t)
        if level:
            counts[level - 1] += 1
    tl = timeline(net, periods, [T])
    assert tl.aggregations[0].tolist() == counts
    costs = net.aggregation_costs(M)
    assert tl.time[0] == pytest.approx(0.25 * T + sum(c * k for c, k in zip(costs, counts)), rel=1e-12)
    assert run_time(net, periods, T) == pytest.approx(tl.time[0], rel=1e-12)


def test_levels_use_the_top_of_the_network():
    assert TWO.aggregation_costs(1) == (28.0,)  # local SGD pays the global link
    assert timeline(TWO, [3], [9]).links == ("global",)
    with pytest.raises(ValueError, match="levels: a 3-level hierarchy needs a network of at least 3 levels"):
        TWO.aggregation_costs(3)


def test_default_model_size_is_8d_bytes():
    net = CostModel([LinkCost(0.0, 8.0)], compute=0.0)
    assert net.aggregation_costs(1, d=10) == (20.0,)  # 2 * 80 / 8
    with pytest.raises(ValueError, match="^d must be a positive integer"):
        net.aggregation_costs(1)


def test_run_time_beyond_int64():
    T = 2**70
    assert run_time(TWO, [2, 6], T) == pytest.approx(0.5 * T + (T // 2 - T // 6) * 6 + (T // 6) * 28, rel=1e-15)


def test_simulation_result_time_axis():
    p = E.HeterogeneousNonconvex(n=8, d=3, sigma=0.5)
    r = E.simulate(p, E.Hierarchy.two_level(8, 2, 2, 4), lr=0.01, steps=10, seeds=2)
    net = CostModel([LinkCost(1.0, 1e9), LinkCost(5.0, 1e9)], compute=0.1)
    tl = r.timeline(net)
    assert tl.steps.tolist() == list(range(10))  # u^t is recorded after t steps
    assert tl.aggregations[-1].tolist() == [2, 2]  # steps 0..8: t + 1 = 2, 6 local; 4, 8 global
    assert tl.bytes[-1, 0] == 2 * 2 * 8 * 3  # model of d = 3 float64
    assert tl.time[-1] == pytest.approx(0.9 + 2 * 2 * (1 + 24e-9) + 2 * 2 * (5 + 24e-9))


@pytest.mark.parametrize("make, message", [
    (lambda: LinkCost(-0.1, 1.0), "^latency must be a finite non-negative number, got -0.1$"),
    (lambda: LinkCost(0.1, 0.0), "^bandwidth must be a finite positive number, got 0.0$"),
    (lambda: LinkCost(0.1, -5), "^bandwidth must be a finite positive number, got -5$"),
    (lambda: LinkCost(float("nan"), 1.0), "^latency must be a finite"),
    (lambda: LinkCost("1", 1.0), "^latency must be a non-negative number, got '1'$"),
    (lambda: CostModel([LinkCost(0, 1)], compute=-1.0), "^compute must be a finite non-negative number, got -1.0$"),
    (lambda: CostModel([], compute=1.0), "^levels must be a non-empty list"),
    (lambda: CostModel([(0, 1)], compute=1.0), r"^levels\[0\] must be a LinkCost"),
    (lambda: CostModel([LinkCost(0, 1)], compute=1.0, model_bytes=0), "^model_bytes must be a finite positive"),
    (lambda: timeline(TWO, [2, 5], [3]), r"^periods\[1\] = 5 must be a multiple of periods\[0\] = 2"),
    (lambda: timeline(TWO, [2], [-1]), "^steps must be non-negative integers"),
    (lambda: timeline(TWO, [2], [1.5]), "^steps must be non-negative integers"),
    (lambda: run_time(TWO, [1, 2, 4], 3), "^levels: a 3-level hierarchy needs"),
])
def test_bad_inputs_one_line(make, message):
    with pytest.raises(ValueError, match=message) as err:
        make()
    assert "\n" not in str(err.value)


def test_a_good_input_passes_the_same_checks():
    """The checks can pass: the boundary values are accepted."""
    CostModel([LinkCost(0.0, 1e-9)], compute=0.0, model_bytes=1)
    assert aggregation_counts([1], [0]).tolist() == [[0]]
