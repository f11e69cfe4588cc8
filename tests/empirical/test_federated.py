"""Theorems W and P (docs/theory.md §10) against the simulator: exact constants for offset
problems, the seeded adversarial battery (never violated, every mutant rejected), the noise
witness reached, and bad input."""

import dataclasses
import itertools

import numpy as np
import pytest

from bounds.federated import participation_shares
from empirical.federated import offset_constants
from empirical.studies.federated_battery import MUTANTS, Case, battery_cases, run_battery, run_case, summary
from empirical.partitions import weighted_divergences
from empirical.problems.witness import KinkProblem


def _brute_force(b, levels, weights, S):
    """The sampled system's constants by enumerating every joint sample and evaluating A3 with
    the partitions module's weighted divergences (independent code) on the sampled workers."""
    b = np.asarray(b, dtype=float)
    n = len(b)
    p = np.ones(n) / n if weights is None else np.asarray(weights, float) / np.sum(weights)
    first = np.asarray(levels[0]) if levels else np.zeros(n, int)
    groups = [np.flatnonzero(first == g) for g in range(first.max() + 1)]
    eps_sq, sampling, count = np.zeros(len(levels) + 1), 0.0, 0
    for sample in itertools.product(*(itertools.combinations(g, S or len(g)) for g in groups)):
        chosen = np.sort(np.concatenate([np.array(c) for c in sample]))
        w = np.zeros(n)
        for g, c in zip(groups, sample):
            c = np.array(c)
            w[c] = p[g].sum() * p[c] / p[c].sum()
        sub_levels = [np.unique(np.asarray(lab)[chosen], return_inverse=True)[1] for lab in levels]
        _, divs, group_weights = weighted_divergences(b[chosen][None], sub_levels, w[chosen])
        eps_sq += [float(gw @ dv[0]) for dv, gw in zip(divs, group_weights)]
        sampling += float(np.sum((w @ b - p @ b) ** 2))
        count += 1
    return np.sqrt(eps_sq / count), np.sqrt(sampling / count)


@pytest.mark.parametrize("b, levels, weights, S", [
    ([[1.0], [-2.0], [0.5], [3.0], [-1.0], [2.0]], [[0, 0, 0, 1, 1, 1]], [3, 1, 2, 5, 1, 4], 2),
    ([[1.0, 0.0], [-2.0, 1.0], [0.5, -1.0], [3.0, 2.0], [-1.0, 0.5], [2.0, 2.0], [0.0, -3.0], [1.0, 1.0]],
     [[0, 0, 1, 1, 2, 2, 3, 3], [0, 0, 0, 0, 1, 1, 1, 1]], [1, 2, 3, 4, 5, 6, 7, 8], 1),
    ([[1.0], [-2.0], [0.5], [3.0], [-1.0]], [[0, 0, 0, 1, 1]], None, 2),
    ([[1.0], [-2.0], [0.5], [3.0], [-1.0]], [], [1, 1, 2, 2, 9], 3),
    ([[1.0], [-2.0], [0.5], [3.0], [-1.0], [4.0]], [[0, 0, 1, 1, 2, 2]], [1, 3, 1, 3, 1, 3], None),
])
def test_offset_constants_match_a_brute_force_enumeration(b, levels, weights, S):
    got = offset_constants(b, levels, weights, S)
    eps, eps_sample = _brute_force(b, levels, weights, S)
    assert got.eps == pytest.approx(eps, rel=1e-9, abs=1e-12)
    assert got.eps_sample == pytest.approx(eps_sample, rel=1e-9, abs=1e-12)
    shares = participation_shares(weights, levels, len(b), S)
    assert got.omega == pytest.approx(float(shares.omega)) and got.label.startswith("exact")


def test_weighted_kink_constants_reduce_to_the_unweighted_ones():
    b = [[1.0], [-1.0], [2.0], [0.5]]
    plain = KinkProblem(b=b, c=-0.5).constants([[0, 0, 1, 1]])
    weighted = KinkProblem(b=b, c=-0.5, weights=[2, 2, 2, 2]).constants([[0, 0, 1, 1]])
    assert [e.value for e in weighted.eps_levels] == pytest.approx([e.value for e in plain.eps_levels], rel=1e-12)
    assert weighted.eps.value == pytest.approx(plain.eps.value, rel=1e-12)
    skewed = KinkProblem(b=b, c=-0.5, weights=[10, 1, 1, 1]).constants([[0, 0, 1, 1]])
    assert skewed.eps.value != pytest.approx(plain.eps.value)  # the weights do enter


@pytest.fixture(scope="module")
def battery():
    return run_battery(300, seed=0)


def test_theorem_p_is_never_violated_on_the_battery(battery):
    s = summary(battery)
    assert s["cases"] == 300 and s["violations"] == 0
    assert s["participation_cases"] > 100 and s["weighted_cases"] > 100  # the battery covers both settings
    assert all(r["condition"] for r in battery)  # every case inside the step-size condition


@pytest.mark.parametrize("name", list(MUTANTS))
def test_every_mutant_is_rejected_by_some_case(battery, name):
    """A check is only as good as the wrong answers it catches: each wrong Theorem P is
    violated (lower CI end above it) on at least one case of the same battery."""
    assert summary(battery)["mutants"][name]["rejected_by"] >= 1


def test_the_authors_timing_is_covered_and_its_wrong_versions_are_caught(battery):
    """docs/theory.md §10.6: Theorem P with the sample redrawn at every level-1 aggregation. The
    battery draws that timing for about half its participation cases, none violates Theorem P
    (checked above for all cases), and at least two wrong versions are rejected on those cases
    alone."""
    authors = summary(battery)["by_timing"]["local_round"]
    assert authors["participation_cases"] > 50 and authors["violations"] == 0
    rejected = [name for name in MUTANTS if authors["mutants"][name]["rejected_by"] >= 1]
    assert len(rejected) >= 2, authors["mutants"]
    cases = battery_cases(300, seed=0)
    assert {c.participation_mode for c in cases} == {"local_round", "global_round"}
    assert any(c.participation_mode == "local_round" and c.participation is not None
               and c.periods[0] < c.periods[-1] for c in cases)  # redraws inside a global round do happen


def test_the_noise_witness_reaches_the_noise_term_with_weights():
    """Every period 1, gamma = 1/L, one heavy worker: measured/bound tends to (T-1)/T, so the
    weights' omega is tested at its value (with 1/n instead, the run is far above)."""
    case = next(c for c in battery_cases(300, seed=0) if c.family == "quadratic" and c.weights is not None)
    case = dataclasses.replace(case, seeds=400, participation=None)
    row = run_case(case, seed=1, mutants={"noise weight 1/n": MUTANTS["noise weight 1/n"]})
    assert 0.85 * (case.T - 1) / case.T < row["ratio"] and not row["violated"]
    assert row["mutants"]["noise weight 1/n"]["violated"]


def test_participation_larger_than_a_group_is_one_clear_error():
    with pytest.raises(ValueError, match=r"participation S = 3 is larger than the smallest level-1 group \(2 workers\)"):
        offset_constants([[1.0], [2.0], [3.0], [4.0]], [[0, 0, 1, 1]], None, 3)
    with pytest.raises(ValueError, match=r"weights\[1\] must be a positive finite number"):
        offset_constants([[1.0], [2.0]], [], [1.0, -1.0])
    with pytest.raises(ValueError, match="participation must be a positive integer"):
        participation_shares(None, [], 4, participation=0)


def test_a_partitioned_problem_brings_its_own_weights_to_the_engine():
    """simulate(weights=None) averages with a data-partitioned problem's weights, so the
    averaging matches the problem's weighted objective; equal weights keep the plain path."""
    from empirical import Hierarchy, simulate
    from empirical.problems.digits import digits_partitioned

    problem = digits_partitioned("quantity", 8, alpha=0.5, seed=0)
    assert np.ptp(problem.weights) > 0
    h = Hierarchy.two_level(8, 2, 2, 4, grouping="contiguous")
    implicit = simulate(problem, h, lr=0.05, steps=8, seeds=2)
    explicit = simulate(problem, h, lr=0.05, steps=8, seeds=2, weights=problem.weights)
    equal = simulate(problem, h, lr=0.05, steps=8, seeds=2, weights=np.ones(8))
    assert np.array_equal(implicit.grad_norm_sq, explicit.grad_norm_sq)
    assert not np.allclose(implicit.grad_norm_sq, equal.grad_norm_sq)


def test_the_instance_takes_the_problems_own_weights_as_the_engine_does():
    """Found by review: simulate(weights=None) averages with a problem's own weights, so the
    bound's constants must use them too (with equal constants, a valid run looked violated)."""
    from empirical.federated import federated_instance

    problem = KinkProblem(b=[[1.0], [-1.0], [2.0], [0.0]], c=-0.5, weights=[20, 1, 1, 1])
    implicit = federated_instance(problem, [[0, 0, 1, 1]], (1, 2), 0.1, 10)
    explicit = federated_instance(problem, [[0, 0, 1, 1]], (1, 2), 0.1, 10, weights=[20, 1, 1, 1])
    equal = federated_instance(problem, [[0, 0, 1, 1]], (1, 2), 0.1, 10, weights=[1, 1, 1, 1])
    assert implicit.omega == pytest.approx(explicit.omega, rel=1e-12)
    assert implicit.eps == pytest.approx(explicit.eps, rel=1e-12)
    assert implicit.omega != pytest.approx(equal.omega, rel=1e-3)
