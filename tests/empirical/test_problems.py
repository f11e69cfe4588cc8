"""Problems: gradients against finite differences; certified constants against measurements."""

import numpy as np
import pytest

import empirical as E
from bounds import divergence_split, level_divergences

RNG = np.random.default_rng(2024)


def per_worker_loss(p, x):
    """F_j(x_j) of HeterogeneousNonconvex, for finite differences."""
    v = x - p.c
    return 0.5 * p.a * np.sum((x - p.b) ** 2, axis=-1) + p.lam * np.sum(v * v / (1 + v * v), axis=-1)


def finite_difference(fn, x, h=1e-6):
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        grad[idx] = (fn(x + e) - fn(x - e)) / (2 * h)
    return grad


def test_nonconvex_gradients_match_finite_differences():
    p = E.HeterogeneousNonconvex(n=5, d=3, lam=3.0)
    x = RNG.normal(size=(5, 3)) * 2
    fd = np.stack([finite_difference(lambda z, j=j: per_worker_loss(p, np.broadcast_to(z, (5, 3)))[j], x[j])
                   for j in range(5)])
    np.testing.assert_allclose(p.worker_grads(x), fd, rtol=1e-6, atol=1e-7)
    u = RNG.normal(size=3)
    np.testing.assert_allclose(p.grad(u), finite_difference(p.loss, u), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(p.grad(u), p.worker_grads(np.broadcast_to(u, (5, 3))).mean(axis=0), rtol=1e-12)
    assert p.loss(u) == pytest.approx(per_worker_loss(p, np.broadcast_to(u, (5, 3))).mean(), rel=1e-12)


def test_logistic_gradients_match_finite_differences():
    p = E.FiniteSumLogistic(n=3, d=4, m=10)
    u = RNG.normal(size=4)
    np.testing.assert_allclose(p.grad(u), finite_difference(p.loss, u), rtol=1e-6, atol=1e-7)


def test_nonconvex_smoothness_is_exact_and_holds():
    p = E.HeterogeneousNonconvex(n=6, d=4, a=1.0, lam=4.0)
    L = p.constants().L
    assert L.value == 9.0 and L.label == "exact"
    x, y = RNG.normal(size=(2, 2000, 6, 4)) * 3
    ratio = np.linalg.norm(p.worker_grads(x) - p.worker_grads(y), axis=-1) / np.linalg.norm(x - y, axis=-1)
    assert ratio.max() <= L.value
    # attained: near x = c_j along one coordinate the curvature is a + 2 lam
    e = np.zeros((6, 4)); e[:, 0] = 1e-4
    close = np.linalg.norm(p.worker_grads(p.c + e) - p.worker_grads(p.c - e), axis=-1) / np.linalg.norm(2 * e, axis=-1)
    assert close.max() == pytest.approx(L.value, rel=1e-6)


@pytest.mark.parametrize("grouping", ["contiguous", "random", "heterogeneous"])
def test_certified_divergences_bound_what_is_measured(grouping):
    p = E.HeterogeneousNonconvex(n=12, d=3, clusters=3, between=2.0, within=0.7, lam=4.0)
    h = E.Hierarchy.multi_level(12, [1, 2, 4], [6, 3], grouping=grouping, problem=p, seed=1)
    c = p.constants(h.levels)
    assert c.eps.label == "certified upper bound"
    # many points, including near the worker centres where phi' varies fastest
    x = np.concatenate([RNG.normal(size=(3000, 3)) * 4, p.c[RNG.integers(0, 12, 3000)] + RNG.normal(size=(3000, 3)) * 0.5])
    grads = p.worker_grads(np.broadcast_to(x[:, None, :], (6000, 12, 3)))
    total = divergence_split(grads, np.zeros(12, dtype=int)).total
    assert total.max() <= c.eps.value**2
    assert total.max() >= 0.9 * c.eps.value**2  # and not a vacuous bound
    parts = level_divergences(grads, list(h.levels))
    for l, bound in enumerate(c.eps_levels):
        assert parts[:, l].max() <= bound.value**2
    assert sum(e.value**2 for e in c.eps_levels) >= c.eps.value**2 * (1 - 1e-9)  # sup of a sum <= sum of sups


def test_lower_bound_of_f_star_and_exact_noise():
    p = E.HeterogeneousNonconvex(n=8, d=3, sigma=0.8)
    c = p.constants()
    x = RNG.normal(size=(5000, 3)) * 3
    assert p.loss(x).min() >= c.f_star.value and c.f_star.label == "certified lower bound"
    xs = np.zeros((4000, 8, 3))
    g = p.stochastic_grads(xs, np.random.default_rng(0), np.empty_like(xs))
    noise_sq = np.sum((g - p.worker_grads(xs)) ** 2, axis=-1).ravel()
    se = noise_sq.std() / np.sqrt(noise_sq.size)
    assert abs(noise_sq.mean() - 0.8**2) <= 4 * se  # E||xi||^2 = sigma^2 (A2), within sampling error


def test_logistic_constants_are_labelled_and_plausible():
    p = E.FiniteSumLogistic(n=4, d=3, m=20)
    c = p.constants([[0, 0, 1, 1]])
    assert c.L.label == "certified upper bound"
    assert c.sigma.label.startswith("estimated (") and "64 random N(0, 4 I) points" in c.sigma.label
    assert c.estimated() == ("sigma", "eps", "eps_levels[0]", "eps_levels[1]")
    x, y = RNG.normal(size=(2, 500, 4, 3))
    ratio = np.linalg.norm(p.worker_grads(x) - p.worker_grads(y), axis=-1) / np.linalg.norm(x - y, axis=-1)
    assert ratio.max() <= c.L.value
    assert c.sigma.value > 0 and p.loss(RNG.normal(size=(100, 3))).min() >= c.f_star.value


def test_from_gradient_fn_in_three_lines():
    b = np.array([[0.0], [1.0], [5.0], [6.0]])
    p = E.from_gradient_fn(lambda x: x - b, lambda u: u - b.mean(), n=4, d=1,
                           constants={"L": 1, "eps": float(b.std()), "eps_levels": [0.5, 2.5], "f_star": 6.5 / 2,
                                      "kind": "exact"})
    h = E.Hierarchy.two_level(4, 2, 2, 4, grouping="contiguous")
    r = E.simulate(p, h, lr=0.1, steps=8)
    assert np.all(np.diff(r.grad_norm_sq[0]) <= 0)  # deterministic: no noise given
    c = p.constants(h.levels)
    assert c.eps_levels[1].value == 2.5 and c.L.label == "exact" and c.estimated() == ()
    assert c.sigma.value == 0.0 and c.sigma.label == "exact (no noise)"
    assert p.constants().eps_levels == (c.eps,)  # one level: eps_1 is the total eps
    with pytest.raises(ValueError, match="made without constants"):
        E.from_gradient_fn(lambda x: x, lambda u: u, n=2, d=1).constants()
    with pytest.raises(ValueError, match="noise must be None"):
        E.from_gradient_fn(lambda x: x, lambda u: u, n=2, d=1, noise=-1.0)


B = np.array([[0.0, 1.0], [1.0, -1.0], [5.0, 2.0], [6.0, 0.0]])   # F_j(x) = ||x - b_j||^2 / 2, n = 4, d = 2


def quadratic(**kwargs):
    return E.from_gradient_fn(lambda x: x - B, lambda u: u - B.mean(axis=0), n=4, d=2,
                              loss=lambda u: 0.5 * np.sum((u[..., None, :] - B) ** 2, axis=(-2, -1)) / 4, **kwargs)


def exact_eps_levels(levels):
    """The divergences of these quadratics do not depend on x: A3's eps_l are level_divergences of B."""
    return np.sqrt(level_divergences(-B, list(levels))).tolist()


F_STAR = float(np.sum((B - B.mean(axis=0)) ** 2) / 8)


def test_partial_constants_are_an_error_naming_what_is_missing():
    """Today dict(L=1) silently set sigma, eps and f* to 0 (an invalid bound)."""
    with pytest.raises(ValueError, match=r"constants is missing eps, f_star: give them, or pass estimate=True"):
        quadratic(constants=dict(L=1)).constants()
    noisy = quadratic(noise=lambda rng, shape: rng.standard_normal(shape), constants=dict(L=1, eps=1.0, f_star=0.0))
    with pytest.raises(ValueError, match=r"constants is missing sigma:"):
        noisy.constants()
    with pytest.raises(ValueError, match=r"missing f_star: f_star .* is never estimated"):
        quadratic(constants=dict(L=1), estimate=True).constants()
    with pytest.raises(ValueError, match=r"constants is missing eps_levels"):
        quadratic(constants=dict(L=1, eps=1.0, f_star=F_STAR)).constants([[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"unknown keys 'Sigma'"):
        quadratic(constants=dict(L=1, Sigma=1.0))
    with pytest.raises(ValueError, match=r"constants\['L'\] must be positive"):
        quadratic(constants=dict(L=0, eps=1.0, f_star=0.0))
    # sigma of a Gaussian noise level is known exactly
    c = quadratic(noise=0.5, constants=dict(L=1, eps=1.0, f_star=F_STAR)).constants()
    assert c.sigma.value == 0.5 and c.sigma.label.startswith("exact") and c.estimated() == ()


def test_estimate_true_estimates_the_missing_constants_and_labels_them():
    p = quadratic(noise=lambda rng, shape: 0.3 * rng.standard_normal(shape), constants=dict(f_star=F_STAR),
                  estimate=True)
    levels = [[0, 0, 1, 1]]
    c = p.constants(levels)
    assert c.estimated() == ("L", "sigma", "eps", "eps_levels[0]", "eps_levels[1]")
    assert c.L.label.startswith("estimated (Hessian power iteration") and "pilot-trajectory" in c.L.label
    assert c.L.value == pytest.approx(1.1, rel=1e-6)                 # Hessians are I: 1.1 margin x 1
    assert c.sigma.value == pytest.approx(0.3 * np.sqrt(2), rel=0.25)
    assert c.eps.value == pytest.approx(float(np.sqrt(np.mean(np.sum((B - B.mean(0)) ** 2, -1)))), rel=1e-9)
    np.testing.assert_allclose([e.value for e in c.eps_levels], exact_eps_levels(levels), rtol=1e-9)
    assert c.f_star.label == "given" and "f_star" not in c.estimated()


def test_eps_levels_belong_to_one_grouping():
    """Today constants(levels) ignored levels: another grouping reused the first one's eps_l."""
    first, other = [[0, 0, 1, 1]], [[0, 1, 0, 1]]
    fixed = quadratic(constants=dict(L=1, eps=3.0, f_star=F_STAR, eps_levels=exact_eps_levels(first), levels=first))
    assert [e.value for e in fixed.constants([[1, 1, 0, 0]]).eps_levels] == exact_eps_levels(first)  # same partition
    with pytest.raises(ValueError, match="were given for another grouping"):
        fixed.constants(other)
    unbound = quadratic(constants=dict(L=1, eps=3.0, f_star=F_STAR, eps_levels=exact_eps_levels(first)))
    unbound.constants(first)                                          # binds to the first grouping asked for
    with pytest.raises(ValueError, match="were given for another grouping"):
        unbound.constants(other)
    per_grouping = quadratic(constants=dict(L=1, eps=3.0, f_star=F_STAR, eps_levels=exact_eps_levels))
    for levels in (first, other, [[0, 0, 1, 2], [0, 0, 1, 1]]):
        got = [e.value for e in per_grouping.constants(levels).eps_levels]
        assert got == pytest.approx(exact_eps_levels(levels), rel=1e-12)
    assert exact_eps_levels(first) != pytest.approx(exact_eps_levels(other))   # the groupings do differ
    estimated = quadratic(constants=dict(L=1, eps=3.0, f_star=F_STAR, eps_levels=exact_eps_levels(first),
                                         levels=first), estimate=True)
    c = estimated.constants(other)                                    # another grouping: estimated, and says so
    assert c.estimated() == ("eps_levels[0]", "eps_levels[1]")
    np.testing.assert_allclose([e.value for e in c.eps_levels], exact_eps_levels(other), rtol=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    (dict(noise=lambda rng, shape: 1.0), r"noise must return an array of shape \(2, 4, 2\) .* got shape \(\)"),
    (dict(noise=lambda rng, shape: rng.standard_normal(shape)[0]), r"noise must return .* got shape \(4, 2\)"),
    (dict(noise=lambda rng, shape: np.full(shape, np.inf)), r"noise returned a non-finite value"),
    (dict(loss=lambda u: np.sum(u)), r"loss must return an array of shape \(2,\)"),
    (dict(x0=np.zeros(3)), r"x0 must be a finite number or a finite array of shape \(2,\)"),
])
def test_every_function_is_checked_once_at_setup(kwargs, message):
    """Today a scalar or mis-shaped noise was broadcast into the run as biased noise."""
    args = dict(loss=None, noise=None) | kwargs
    with pytest.raises(ValueError, match=message):
        E.from_gradient_fn(lambda x: x - B, lambda u: u - B.mean(axis=0), n=4, d=2, **args)


@pytest.mark.parametrize("worker_grads, grad, message", [
    (lambda x: (x - B)[..., 0], lambda u: u, r"worker_grads must return an array of shape \(2, 4, 2\)"),
    (lambda x: x - B, lambda u: u.sum(), r"grad must return an array of shape \(2, 2\)"),
    (lambda x: x - B, lambda u: u - B[0], r"grad must be the average of worker_grads .* differ by 3"),
    (lambda x: x - B[..., 0], lambda u: u, r"worker_grads failed on x of shape \(2, 4, 2\)"),
    (np.zeros((4, 2)), lambda u: u, r"worker_grads must be a function, got ndarray"),
    (lambda x: x - B, 0.0, r"grad must be a function, got float"),
])
def test_bad_functions_are_rejected(worker_grads, grad, message):
    with pytest.raises(ValueError, match=message):
        E.from_gradient_fn(worker_grads, grad, n=4, d=2)


def test_non_callables_are_rejected():
    with pytest.raises(ValueError, match="loss must be None or a function"):
        E.from_gradient_fn(lambda x: x - B, lambda u: u - B.mean(axis=0), n=4, d=2, loss=1.0)
    with pytest.raises(ValueError, match="noise must be None, a non-negative sigma, or a function"):
        E.from_gradient_fn(lambda x: x - B, lambda u: u - B.mean(axis=0), n=4, d=2, noise="gaussian")
    with pytest.raises(ValueError, match="constants must be None, a Constants or a dict"):
        E.from_gradient_fn(lambda x: x - B, lambda u: u - B.mean(axis=0), n=4, d=2, constants=[1, 0, 0])


def test_a_checked_problem_runs_through_the_checker_with_its_verdict_inputs():
    """The user's path end to end: exact constants for one grouping, run_check on that grouping."""
    from figures.checker import run_check

    h = E.Hierarchy.two_level(4, 2, 1, 2, grouping="contiguous")
    p = quadratic(noise=0.5, constants=dict(L=1, eps=float(np.sqrt(np.mean(np.sum((B - B.mean(0)) ** 2, -1)))),
                                            eps_levels=exact_eps_levels, f_star=F_STAR, kind="exact"))
    r = run_check(p, h, steps=40, seeds=3)
    assert r.constants["labels"]["L"] == "exact" and r.constants["eps_levels"] == pytest.approx(
        exact_eps_levels(h.levels))
    assert all(r.bound[k] >= r.empirical[k]["mean"] for k in ("local_I", "hsgd", "local_G"))


def test_constants_estimated_names_every_estimated_field():
    est, ok, given = E.Constant(1.0, "estimated", "sampled"), E.Constant(1.0, "exact"), E.Constant(1.0, "given")
    c = E.Constants(L=ok, sigma=est, eps=given, eps_levels=(ok, est, est), f_star=E.Constant(0.0, "estimated", "by eye"))
    assert c.estimated() == ("sigma", "eps_levels[1]", "eps_levels[2]", "f_star") and c.given() == ("eps",)
    # the kind is declared, never read from wording: a note that says "estimate" does not make it one
    noted = E.Constant(1.0, "certified upper bound", "overestimated on purpose")
    assert E.Constants(L=noted, sigma=ok, eps=ok, eps_levels=(), f_star=ok).estimated() == ()


@pytest.mark.parametrize("kind", ["rough estimate", "estimated (sampled)", "Exact", ""])
def test_a_constant_of_an_undeclared_kind_is_rejected(kind):
    with pytest.raises(ValueError, match="kind must be one of"):
        E.Constant(1.0, kind)


def test_dict_constants_declare_their_kind_and_default_to_given():
    """Issue 18 item 8: a dict's numbers are 'given' unless declared; 'label' (read by its wording
    before) is refused with what to write instead; a declared estimate makes verdicts not applicable."""
    fns = (lambda x: x - B, lambda u: u - B.mean(0))
    base = dict(L=1, eps=1.0, f_star=0.0)
    given = E.from_gradient_fn(*fns, n=4, d=2, constants=base).constants()
    assert given.given() == ("L", "eps", "eps_levels[0]", "f_star") and given.estimated() == ()
    assert given.L.label == "given" and given.sigma.kind == "exact"
    rough = E.from_gradient_fn(*fns, n=4, d=2, constants=dict(base, kind="estimated", note="rough")).constants()
    assert rough.estimated() == ("L", "eps", "eps_levels[0]", "f_star") and rough.L.label == "estimated (rough)"
    certified = E.from_gradient_fn(*fns, n=4, d=2, constants=dict(base, kind="certified")).constants()
    assert certified.L.kind == "certified upper bound" and certified.f_star.kind == "certified lower bound"
    with pytest.raises(ValueError, match=r"constants\['label'\] is no longer read.*kind="):
        E.from_gradient_fn(*fns, n=4, d=2, constants=dict(base, label="rough estimate"))
    with pytest.raises(ValueError, match=r"constants\['kind'\] must be one of"):
        E.from_gradient_fn(*fns, n=4, d=2, constants=dict(base, kind="rough"))


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=0), "n must be a positive integer"),
    (dict(d=2.5), "d must be a positive integer"),
    (dict(sigma=-1), "sigma must be a finite non-negative number"),
    (dict(a=0, lam=0), "cannot both be 0"),
])
def test_bad_problem_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        E.HeterogeneousNonconvex(**kwargs)
