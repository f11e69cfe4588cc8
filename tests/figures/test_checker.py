"""The sandwich checker: verdicts on cases with known answers, and numbers anyone can recompute."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bounds
import empirical as E
from empirical.problems import ProblemBase
from figures.checker import draw_check, run_check
from figures.cli import main

SMALL = dict(steps=1000, seeds=4)


@pytest.fixture(scope="module")
def default_result():
    # the checker's default problem (n = 32, d = 10), a shorter run
    return run_check(E.HeterogeneousNonconvex(n=32, d=10), E.Hierarchy.two_level(32, 4, 5, 50), **SMALL)


def test_default_problem_shows_every_verdict(default_result):
    v = default_result.verdicts
    assert all(v[k].holds is True for k in v), {k: v[k].line() for k in v}
    assert [v[k].basis for k in v] == ["exact", "statistical", "exact", "exact", "statistical"]
    assert [side.state for _, side in v["empirical_sandwich"].parts] == ["in order", "in order"]
    e = default_result.empirical
    assert e["local_I"]["mean"] < e["hsgd"]["mean"] < e["local_G"]["mean"]


def test_bound_curves_hold_at_every_horizon_and_end_at_the_reported_bound(default_result):
    r = default_result
    horizons = r.bound_curves["horizons"]
    assert horizons[-1] == r.params["T"] and np.array_equal(horizons, np.arange(1, r.params["T"] + 1))
    for k in ("local_I", "hsgd", "local_G"):
        assert r.bound_curves[k][-1] == pytest.approx(r.bound[k], rel=1e-12)
        assert np.all(r.curves[k][horizons - 1] <= r.bound_curves[k])  # running average at t = T' - 1
        assert np.all(np.diff(r.bound_curves[k]) < 0)  # the 2 F0/(gamma T) term shrinks


def test_bounds_can_be_recomputed_from_the_printed_numbers(default_result):
    data = json.loads(json.dumps(default_result.to_json()))  # exactly what --json prints
    p, c = data["params"], data["constants"]
    common = dict(gamma=p["gamma"], L=c["L"], sigma=c["sigma"], n=p["n"], T=p["T"], F0=c["F0"])
    assert bounds.two_level().evaluate(**common, N=p["N"], I=p["I"], G=p["G"], eps_g=c["eps_g"],
                                       eps_l=c["eps_l"]) == pytest.approx(data["bound"]["hsgd"], rel=1e-12)
    assert bounds.local_sgd().evaluate(**common, P=p["G"], eps=c["eps_corollary0"]) == pytest.approx(data["bound"]["local_G"], rel=1e-12)
    rg = bounds.random_grouping(bounds.two_level()).evaluate(**common, N=p["N"], I=p["I"], G=p["G"], eps=c["eps"])
    assert rg == pytest.approx(data["bound_random_grouping"]["hsgd"], rel=1e-12)


def test_a_wrong_bound_is_caught():
    """Constants that understate the problem (no noise, no heterogeneity, f* = f(x0))."""
    b = np.linspace(-2, 2, 8)[:, None] * np.ones((1, 2))
    wrong = {"L": 1.0, "sigma": 0.0, "eps": 0.0, "eps_levels": [0.0, 0.0], "f_star": 2.0, "note": "wrong on purpose"}
    p = E.from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(axis=0), n=8, d=2, noise=1.0,
                           loss=lambda u: 0.5 * np.sum(u**2, axis=-1) + 2.0 - 0.0, constants=wrong, x0=0.0)
    result = run_check(p, E.Hierarchy.two_level(8, 2, 2, 4), steps=200, seeds=4)
    assert result.bound["hsgd"] == 0.0
    assert result.verdicts["bound_valid"].holds is False
    assert [part.state for _, part in result.verdicts["bound_valid"].parts] == ["above"] * 3


def test_a_reversed_empirical_order_is_reported_not_hidden():
    """On a smaller problem the measured order reverses (longer periods happen to help early
    on): the bounds still hold and are still sandwiched, and the checker says so."""
    r = run_check(E.HeterogeneousNonconvex(n=16, d=5), E.Hierarchy.two_level(16, 4, 5, 50), **SMALL)
    e = r.empirical
    assert e["local_G"]["mean"] < e["hsgd"]["mean"] < e["local_I"]["mean"]
    assert r.verdicts["empirical_sandwich"].holds is False
    assert [side.state for _, side in r.verdicts["empirical_sandwich"].parts] == ["reversed", "reversed"]
    assert r.holds("bound_valid") and r.holds("bound_sandwich")


def test_no_heterogeneity_gives_equal_curves():
    same = E.HeterogeneousNonconvex(n=16, d=5, between=0.0, within=0.0, sigma=1.0)
    result = run_check(same, E.Hierarchy.two_level(16, 4, 5, 50), **SMALL)
    means = [result.empirical[k]["mean"] for k in ("local_I", "hsgd", "local_G")]
    assert (max(means) - min(means)) / np.mean(means) < 1e-4  # identical workers: periods barely matter
    spread = [(result.empirical[k]["ci_high"] - result.empirical[k]["ci_low"]) / 2 for k in ("local_I", "local_G")]
    assert abs(means[2] - means[0]) < max(spread)  # within the seeds' sampling error


def test_multi_level_and_unequal_groups():
    p = E.HeterogeneousNonconvex(n=16, d=3)
    r = run_check(p, E.Hierarchy.multi_level(16, [2, 4, 20], [8, 2]), steps=400, seeds=3)
    assert r.holds("bound_sandwich") and r.params["periods"] == [2, 4, 20]
    unequal = run_check(p, E.Hierarchy.two_level(16, 3, 2, 20, grouping="contiguous"), steps=400, seeds=3)
    assert unequal.bound_random_grouping is None and unequal.holds("bound_sandwich") is None
    assert not unequal.verdicts["bound_sandwich"].applicable and "unequal groups" in unequal.verdicts["bound_sandwich"].detail


def test_check_command_writes_figure_and_data(tmp_path, capsys):
    code = main(["check", "--n", "8", "--d", "2", "--N", "2", "--I", "2", "--G", "10", "--steps", "200",
                 "--seeds", "3", "--json", "--out-dir", str(tmp_path)])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["empirical"]) == {"local_I", "hsgd", "local_G"}
    assert {"bound_valid", "bound_sandwich", "empirical_sandwich", "params", "constants"} <= set(data)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.json", "check.pdf", "check.png"]
    assert data["verdicts"]["bound_valid"]["basis"] == "statistical"


def test_any_horizon_is_accepted_and_the_bound_holds_at_every_one():
    """The theorem holds for every T >= 1 (docs/theory.md §5.5 Any horizon), not only multiples of G."""
    r = run_check(E.HeterogeneousNonconvex(n=8, d=2), E.Hierarchy.two_level(8, 2, 2, 10), steps=203, seeds=3)
    assert r.params["T"] == 203 and r.holds("bound_valid")
    assert np.all(r.curves["hsgd"] <= r.bound_curves["hsgd"])


# ----------------------------------------------------------------- honest verdicts (issue 8)
class Quadratic(ProblemBase):
    """f_j(x) = (L/2)||x||^2 for every worker: the tightness case of docs/theory.md §7.2 Remark: tightness."""

    def __init__(self, L, x0, n=4, d=2):
        self.n, self.d, self.L, self.x0 = n, d, float(L), np.asarray(x0, dtype=float)
        self.params = {"kind": "quadratic", "L": self.L}

    def worker_grads(self, x):
        return self.L * x

    def stochastic_grads(self, x, rng, out):
        np.multiply(x, self.L, out=out)
        return out

    def loss(self, u):
        return 0.5 * self.L * np.sum(u * u, axis=-1)

    def grad(self, u):
        return self.L * u

    def default_x0(self):
        return self.x0

    def constants(self, levels=()):
        zero, exact = E.Constant(0.0, "exact"), "exact"
        return E.Constants(L=E.Constant(self.L, exact), sigma=zero, eps=zero,
                           eps_levels=tuple(zero for _ in range(len(levels) + 1)), f_star=zero)


def test_a_failed_step_size_condition_makes_every_bound_verdict_not_applicable(capsys, tmp_path):
    p = E.HeterogeneousNonconvex(n=8, d=2)
    r = run_check(p, E.Hierarchy.two_level(8, 2, 2, 10), lr=0.05, steps=100, seeds=3)
    v = r.verdicts
    assert v["condition_holds"].holds is False and "fails" in v["condition_holds"].detail
    for name in ("bound_valid", "bound_sandwich", "bound_sandwich_own_grouping"):
        assert v[name].holds is None and not v[name].applicable, v[name].line()
        assert "step-size condition" in v[name].detail
    data = r.to_json()
    assert data["bound_valid"] is None and data["verdicts"]["bound_valid"]["basis"] == "not applicable"
    fig = draw_check(r)
    assert "bounds hold: not applicable" in fig._suptitle.get_text()
    assert main(["check", "--n", "8", "--d", "2", "--N", "2", "--I", "2", "--G", "10", "--steps", "100",
                 "--seeds", "3", "--lr", "0.05", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.strip().startswith("bound_valid"))
    assert "not applicable: every bound >= its measured average" in line
    assert "fails" in out


def test_exact_equalities_are_equal_not_one_ulp_apart():
    """N = n makes H-SGD's bound the local SGD bound with period G; I = G makes all three equal."""
    p = E.HeterogeneousNonconvex(n=8, d=2)
    for hierarchy in (E.Hierarchy.two_level(8, 8, 5, 50), E.Hierarchy.two_level(8, 1, 5, 50), E.Hierarchy.two_level(8, 2, 5, 5)):
        r = run_check(p, hierarchy, steps=100, seeds=2)
        v = r.verdicts["bound_sandwich"]
        assert v.holds is True and v.basis == "exact" and "=" in v.detail, v.line()


@settings(max_examples=40, deadline=None)
@given(L=st.floats(0.1, 50.0), x0=st.lists(st.floats(-10, 10), min_size=2, max_size=2), T=st.integers(1, 30))
def test_the_tight_case_holds_to_floating_point(L, x0, T):
    """All periods 1, gamma = 1/L, f = (L/2)x^2, sigma = 0: the bound holds with equality, and
    the verdict must say 'holds' (floating point), never 'violated by 4e-16'."""
    r = run_check(Quadratic(L, x0), E.Hierarchy.two_level(4, 2, 1, 1), steps=T, seeds=2)
    assert r.params["gamma"] * L == pytest.approx(1.0, rel=1e-15)
    v = r.verdicts["bound_valid"]
    assert v.holds is True and v.basis == "floating point", v.line()


def test_a_start_at_the_minimiser_holds_with_a_zero_bound():
    r = run_check(Quadratic(2.0, [0.0, 0.0]), E.Hierarchy.two_level(4, 2, 1, 1), steps=5, seeds=2)
    assert r.bound["hsgd"] == 0.0 and r.holds("bound_valid") is True


def test_the_tolerance_still_rejects_a_real_violation():
    """A wrong input the floating-point comparison must catch: F0 understated by 1e-6."""
    from figures.verdicts import bound_holds

    assert bound_holds([1.0 + 1e-6], 1.0, deterministic=True).holds is False
    assert bound_holds([1.0 + 1e-13], 1.0, deterministic=True).holds is True


def test_one_seed_is_not_applicable():
    r = run_check(E.HeterogeneousNonconvex(n=8, d=2), E.Hierarchy.two_level(8, 2, 2, 10), steps=100, seeds=1)
    for name in ("bound_valid", "empirical_sandwich"):
        assert r.holds(name) is None and "no confidence interval" in r.verdicts[name].detail
    assert r.holds("bound_sandwich") is True  # exact: seeds do not matter


def test_a_reversed_or_unresolved_measured_order_never_reads_as_in_order():
    """The issue's case: the means are reversed (local_I > hsgd > local_G) by tiny amounts."""
    p = E.HeterogeneousNonconvex(n=16, d=4, between=0.05, within=0.05, sigma=2.0, seed=1)
    h = E.Hierarchy.two_level(16, 4, 2, 8, seed=1)
    r = run_check(p, h, steps=400, seeds=3, seed=1)
    means = [r.empirical[k]["mean"] for k in ("local_I", "hsgd", "local_G")]
    v = r.verdicts["empirical_sandwich"]
    assert v.holds is not True, v.line()
    states = [side.state for _, side in v.parts]
    assert set(states) <= {"indistinguishable", "reversed"}
    if means[0] > means[1] > means[2]:
        assert all(side.holds is not True for _, side in v.parts)


def test_estimated_constants_make_the_bound_verdict_not_applicable():
    from empirical.problems.digits import DigitsMLP

    p = DigitsMLP(8)
    r = run_check(p, E.Hierarchy.two_level(8, 2, 1, 1), steps=20, seeds=2)
    v = r.verdicts["bound_valid"]
    assert v.holds is None and "estimated" in v.detail and "L" in r.constants["estimated"]
    assert "ESTIMATED" in draw_check(r)._suptitle.get_text()


def test_the_checker_with_theorem_s_is_lower_and_still_holds():
    p = E.HeterogeneousNonconvex(n=8, d=2)
    h = E.Hierarchy.two_level(8, 2, 2, 10)
    theory = run_check(p, h, steps=300, seeds=3)
    sharp = run_check(p, h, steps=300, seeds=3, theorem="sharp")
    assert sharp.params["gamma"] == theory.params["gamma"] and sharp.params["theorem"] == "sharp"
    for k in ("local_I", "hsgd", "local_G"):
        assert sharp.empirical[k]["ci_high"] <= sharp.bound[k] < theory.bound[k]
    assert sharp.holds("bound_valid") is True and "Theorem S" in sharp.verdicts["bound_sandwich"].claim
    with pytest.raises(ValueError, match="unknown theorem"):
        run_check(p, h, steps=10, seeds=2, theorem="paper")


def test_estimated_constants_make_every_bound_verdict_not_applicable():
    """With estimate=True every constant but f* is sampled: no verdict about the bounds may read
    'yes (exact)', although the comparisons at the estimates are shown."""
    b = np.linspace(-2, 2, 8)[:, None] * np.ones((1, 2))
    p = E.from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(axis=0), n=8, d=2, noise=1.0,
                           loss=lambda u: 0.5 * np.sum((u - b.mean(axis=0)) ** 2, axis=-1), x0=1.0,
                           constants=dict(f_star=0.0), estimate=True)
    r = run_check(p, E.Hierarchy.two_level(8, 2, 2, 4), steps=100, seeds=3)
    for name in ("condition_holds", "bound_valid", "bound_sandwich", "bound_sandwich_own_grouping"):
        v = r.verdicts[name]
        assert v.holds is None and not v.applicable and "estimated" in v.detail, v.line()
    assert "at the estimate" in r.verdicts["condition_holds"].detail
    assert r.verdicts["empirical_sandwich"].applicable  # measured only: no constant involved


# --- the figure (issue 18) ----------------------------------------------------------------------

def _panels(fig):
    left, middle, right = fig.axes
    return left, middle, right


@pytest.mark.parametrize("T", [1, 2, 5])
def test_the_figure_draws_without_a_warning_at_any_horizon(T):
    """``hsgd check --steps 1`` drew a blank figure with a singular-ylim warning: every T >= 1
    draws, with a point to see on every panel."""
    import warnings

    from figures.plotting import pyplot

    r = run_check(E.HeterogeneousNonconvex(n=8, d=2), E.Hierarchy.two_level(8, 2, 2, 10), steps=T, seeds=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = draw_check(r)
        try:
            fig.canvas.draw()
            for ax in fig.axes:
                low, high = ax.get_ylim()
                assert low < high
                assert any(len(line.get_xdata()) for line in ax.get_lines())
                assert all(line.get_marker() not in ("None", "", None) for line in ax.get_lines()
                           if len(line.get_xdata()) == 1)  # a single point is marked, not an invisible line
        finally:
            pyplot().close(fig)


def test_the_figure_draws_without_a_warning_for_a_start_at_the_minimiser_and_one_seed():
    """Every measured value and every bound 0 (no log scale possible), and one seed (no bands)."""
    import warnings

    from figures.plotting import pyplot

    for r in (run_check(Quadratic(2.0, [0.0, 0.0]), E.Hierarchy.two_level(4, 2, 1, 1), steps=5, seeds=2),
              run_check(E.HeterogeneousNonconvex(n=8, d=2), E.Hierarchy.two_level(8, 2, 2, 10), steps=3, seeds=1)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig = draw_check(r)
            try:
                fig.canvas.draw()
            finally:
                pyplot().close(fig)


@pytest.fixture(scope="module")
def small_result():
    return run_check(E.HeterogeneousNonconvex(n=8, d=2), E.Hierarchy.two_level(8, 2, 2, 10), steps=100, seeds=3)


def _titles_with(result, low, middle, high):
    """The right panel's title and the figure's title of ``result`` with the measured sandwich
    decided on these per-seed values instead."""
    import dataclasses

    from figures.plotting import pyplot
    from figures.verdicts import sandwich_order

    sandwich = sandwich_order(low, middle, high, names=["local SGD (P = I)", "H-SGD", "local SGD (P = G)"])
    fig = draw_check(dataclasses.replace(result, verdicts={**result.verdicts, "empirical_sandwich": sandwich}))
    try:
        return fig.axes[2].get_title(), fig._suptitle.get_text()
    finally:
        pyplot().close(fig)


LOW = np.array([1.0, 2.0, 3.0, 4.0])
"""Per-seed values of the lower run; the others are built from it with known paired differences."""


@pytest.mark.parametrize("middle, high, said, unsaid", [
    (LOW + [0.5, 0.4, 0.6, 0.5], LOW + [1.0, 0.9, 1.1, 1.0], ["both differences above 0 at 95%", "sandwich shown"],
     ["undecided", "fails"]),
    (LOW + [0.1, -0.1, 0.05, -0.04], LOW + [1.0, 0.9, 1.1, 1.0],
     ["lower side indistinguishable from 0 at 95%", "upper side above 0 at 95%", "undecided"],
     ["both differences above 0", "sandwich shown"]),
    (LOW + [0.5, 0.4, 0.6, 0.5], LOW + [0.1, 0.0, 0.2, 0.1], ["upper side reversed (below 0) at 95%", "sandwich fails"],
     ["both differences above 0", "sandwich shown", "undecided"]),
])
def test_the_right_panel_title_says_what_the_measured_sandwich_showed(small_result, middle, high, said, unsaid):
    """Issue 18 item 9: the title said 'both differences above 0' whatever the verdict."""
    title, _ = _titles_with(small_result, LOW, middle, high)
    assert "at T = 100" in title
    for words in said:
        assert words in title.replace("\n", " "), title
    for words in unsaid:
        assert words not in title.replace("\n", " "), title


def test_the_right_panel_and_the_figure_title_with_one_seed_say_not_applicable_and_why():
    from figures.plotting import pyplot

    r = run_check(E.HeterogeneousNonconvex(n=8, d=2), E.Hierarchy.two_level(8, 2, 2, 10), steps=100, seeds=1)
    fig = draw_check(r)
    try:
        title, suptitle = fig.axes[2].get_title().replace("\n", " "), fig._suptitle.get_text().replace("\n", " ")
    finally:
        pyplot().close(fig)
    assert "not applicable (1 seed" in title and "above 0" not in title and "band" not in title
    assert "measured sandwich: not applicable (1 seed" in suptitle  # was '(lower side: not applicable)'


def test_the_left_panel_gives_the_values_at_T_and_spans_bounds_and_runs(small_result):
    from figures.plotting import pyplot

    r = small_result
    fig = draw_check(r)
    try:
        left = fig.axes[0]
        entries = [text.get_text() for text in left.get_legend().get_texts()]
        low, high = left.get_ylim()
        assert left.get_yscale() == "log"
    finally:
        pyplot().close(fig)
    for k in ("local_I", "hsgd", "local_G"):
        measured, bound = r.curves[k][-1], r.bound_curves[k][-1]
        assert any(f"measured, {measured:.4g} at T" in e for e in entries), entries
        assert any(f"bound, {bound:.4g} at T, {bound / measured:.3g}x measured" in e for e in entries), entries
        assert low <= r.curves[k].min() and r.bound_curves[k].max() <= high


def test_the_middle_panel_has_a_legend_and_says_why_it_starts_at_T_over_5(small_result):
    from figures.plotting import pyplot

    fig = draw_check(small_result)
    try:
        middle = fig.axes[1]
        entries = [text.get_text() for text in middle.get_legend().get_texts()]
        said = middle.get_title() + " " + middle.get_xlabel()
        assert middle.get_xlim()[0] == 20  # T/5 of T = 100
    finally:
        pyplot().close(fig)
    assert [e.split(" (")[0] for e in entries] == ["local SGD, P = 2", "H-SGD", "local SGD, P = 10"]
    assert "T/5" in said and "first fifth left out: transient" in said
