"""The engine's speed work must not change a single bit: runs pinned to values computed before it.

The values below were computed by the engine as it was before the hot loop was fused
(commit 92ba7f4), with ``float.hex`` (exact) and a SHA-256 of every recorded array. Two- and
three-level hierarchies, equal and unequal groups, noise on, recording every step and every
7th (and every 3rd on a state split into several cache blocks). If one of these fails, a
change altered the floating-point operations of a step or of a record: undo it, or bump the
results' format version and re-pin with the reason in the commit.
"""

import hashlib

import numpy as np
import pytest

import empirical as E

CASES = {
    "two_level_rec1": dict(p=dict(n=16, d=5, sigma=0.7, seed=1), h=("two", (16, 4, 3, 12), dict(grouping="random", seed=2)), rec=1, steps=50, seeds=3),
    "two_level_rec7": dict(p=dict(n=16, d=5, sigma=0.7, seed=1), h=("two", (16, 4, 3, 12), dict(grouping="random", seed=2)), rec=7, steps=50, seeds=3),
    "three_level_rec1": dict(p=dict(n=24, d=4, sigma=0.5, seed=3), h=("multi", (24, [2, 6, 12], [6, 2]), dict(grouping="random", seed=4)), rec=1, steps=50, seeds=3),
    "three_level_rec7": dict(p=dict(n=24, d=4, sigma=0.5, seed=3), h=("multi", (24, [2, 6, 12], [6, 2]), dict(grouping="random", seed=4)), rec=7, steps=50, seeds=3),
    "unequal_groups_rec1": dict(p=dict(n=10, d=3, sigma=1.0, seed=5), h=("two", (10, 3, 2, 6), dict(grouping=[0, 0, 0, 0, 0, 1, 1, 2, 2, 2])), rec=1, steps=30, seeds=2),
    "many_blocks_rec3": dict(p=dict(n=256, d=300, sigma=1.0, seed=6), h=("two", (256, 32, 2, 4), dict(grouping="random", seed=7)), rec=3, steps=8, seeds=1),
}

PINNED = {'many_blocks_rec3': {'last': ['0x1.f891fa891ef59p+7',
                                   '0x1.5e8c61ea68c14p+10',
                                   '0x1.801f521000000p-103',
                                   '0x1.53bd8e8405788p-1'],
                          'sha256': '73653df016c37530a1e2df80cdf1c754f185f36c0fbb743e00ae44079698fc68',
                          'sums': ['0x1.debb0538ff8dep+9', '0x1.0c26d2819b4cdp+12', '0x1.be3e35aec3252p+1']},
     'three_level_rec1': {'last': ['0x1.5e01957c4c432p-3',
                                   '0x1.769e96d8a9b31p-3',
                                   '0x1.6ec6aec79225ep-3',
                                   '0x1.7237e7bc74b1ap+4',
                                   '0x1.72517e8a78368p+4',
                                   '0x1.724cb23fd1c84p+4',
                                   '0x1.0f914af7da72bp-5',
                                   '0x1.9d5a297ba7fb8p-8',
                                   '0x1.7fb6a8887c0b5p-10',
                                   '0x1.1565a06afe487p-5',
                                   '0x1.77d32afc30263p-8',
                                   '0x1.4d2d8c9f98400p-10',
                                   '0x1.17798b8cceddfp-5',
                                   '0x1.880b351c32249p-8',
                                   '0x1.5272d3b0a1dc7p-10'],
                          'sha256': '137ef87e3925776e76d511e212b16c5e749f53ad58652657ac50461e49d807a1',
                          'sums': ['0x1.aa5da04a8a088p+6', '0x1.b6f79b2e2decep+11', '0x1.e41359e5f455ep+3']},
     'three_level_rec7': {'last': ['0x1.5e01957c4c432p-3',
                                   '0x1.769e96d8a9b31p-3',
                                   '0x1.6ec6aec79225ep-3',
                                   '0x1.7237e7bc74b1ap+4',
                                   '0x1.72517e8a78368p+4',
                                   '0x1.724cb23fd1c84p+4',
                                   '0x1.0f914af7da72bp-5',
                                   '0x1.9d5a297ba7fb8p-8',
                                   '0x1.7fb6a8887c0b5p-10',
                                   '0x1.1565a06afe487p-5',
                                   '0x1.77d32afc30263p-8',
                                   '0x1.4d2d8c9f98400p-10',
                                   '0x1.17798b8cceddfp-5',
                                   '0x1.880b351c32249p-8',
                                   '0x1.5272d3b0a1dc7p-10'],
                          'sha256': '9f99c4fd34d0b722e43db27a83e1dfb1acdb43aab302a87029e4cf1ebab44912',
                          'sums': ['0x1.485cda278361ep+4', '0x1.195597e5311e3p+9', '0x1.133a3451792ecp+1']},
     'two_level_rec1': {'last': ['0x1.e8f630b377ebep-4',
                                 '0x1.c98abafb2b874p-4',
                                 '0x1.01d4ebcbfa20cp-3',
                                 '0x1.ed75e0600ff41p+3',
                                 '0x1.ed59057c46b92p+3',
                                 '0x1.edab25d7215c6p+3',
                                 '0x1.844a7ca8af5bep-7',
                                 '0x1.1bf776a80a8dfp-8',
                                 '0x1.66ce98386d0d6p-7',
                                 '0x1.0cf5f07df0210p-8',
                                 '0x1.817320557d783p-7',
                                 '0x1.33c052523a378p-8'],
                        'sha256': 'eccde4f6393360fd2941672752225b4c54c2b01d73785afcb57b767bad5f62bb',
                        'sums': ['0x1.0b2d91e91a934p+7', '0x1.26d4da187590cp+11', '0x1.1dc4cb91925aap+4']},
     'two_level_rec7': {'last': ['0x1.e8f630b377ebep-4',
                                 '0x1.c98abafb2b874p-4',
                                 '0x1.01d4ebcbfa20cp-3',
                                 '0x1.ed75e0600ff41p+3',
                                 '0x1.ed59057c46b92p+3',
                                 '0x1.edab25d7215c6p+3',
                                 '0x1.844a7ca8af5bep-7',
                                 '0x1.1bf776a80a8dfp-8',
                                 '0x1.66ce98386d0d6p-7',
                                 '0x1.0cf5f07df0210p-8',
                                 '0x1.817320557d783p-7',
                                 '0x1.33c052523a378p-8'],
                        'sha256': '428ccc9adcedbef93bf9232600c262ce4feb7e2a17c10017679f83ea48c4e71e',
                        'sums': ['0x1.84e7b00dbbf47p+4', '0x1.7a7f367ddf09dp+8', '0x1.575130c24b86ep+1']},
     'unequal_groups_rec1': {'last': ['0x1.117bbfa633851p-1',
                                      '0x1.20496f046956fp-1',
                                      '0x1.5c3ff02ab7bf5p+3',
                                      '0x1.5c98c8d45e8a8p+3',
                                      '0x1.686de88d30948p-7',
                                      '0x1.568a02b718abep-3',
                                      '0x1.25955eff53cebp-7',
                                      '0x1.2fc32ea110d2dp-3'],
                             'sha256': '0527e60ecb9a51061ed276f815305e9c933535874b6076729d8e1f9cacca53fc',
                             'sums': ['0x1.b46cd0af4109ap+6', '0x1.57b9726fc1bedp+9', '0x1.c7accf8e00622p+1']}}


def run(case: dict, seed: int = 11, lr: float = 0.03) -> E.SimulationResult:
    p = E.HeterogeneousNonconvex(**case["p"])
    kind, args, kw = case["h"]
    h = (E.two_level if kind == "two" else E.multi_level)(*args, **kw)
    return E.simulate(p, h, lr=lr, steps=case["steps"], seeds=case["seeds"], seed=seed, record_every=case["rec"])


def digest(r: E.SimulationResult) -> str:
    arrays = (r.steps.astype(np.int64), r.grad_norm_sq, r.loss, r.divergence)
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)).hexdigest()


def summary(r: E.SimulationResult) -> dict:
    return {
        "sums": [float(np.sum(a)).hex() for a in (r.grad_norm_sq, r.loss, r.divergence)],
        "last": [float(v).hex() for v in np.concatenate([r.grad_norm_sq[:, -1], r.loss[:, -1], r.divergence[:, -1].ravel()])],
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_run_is_bit_identical_to_the_pinned_values(name):
    r = run(CASES[name])
    expected = PINNED[name]
    assert summary(r) == {"sums": expected["sums"], "last": expected["last"]}
    assert digest(r) == expected["sha256"]


def test_the_pins_can_fail():
    # another seed (or a step size one ulp away) gives other bits: the pins are not vacuous
    case = CASES["two_level_rec7"]
    assert summary(run(case, seed=12)) != {k: PINNED["two_level_rec7"][k] for k in ("sums", "last")}
    assert digest(run(case, lr=np.nextafter(0.03, 1.0))) != PINNED["two_level_rec7"]["sha256"]


@pytest.mark.parametrize("name", ["two_level_rec1", "three_level_rec1"])
def test_every_7th_record_is_every_7th_row_of_every_record(name):
    every = run(CASES[name])
    seventh = run(dict(CASES[name], rec=7))
    np.testing.assert_array_equal(seventh.steps, every.steps[::7])
    for a, b in ((seventh.grad_norm_sq, every.grad_norm_sq), (seventh.loss, every.loss)):
        np.testing.assert_array_equal(a, b[:, ::7])
    np.testing.assert_array_equal(seventh.divergence, every.divergence[:, ::7])


class Unfused:
    """The same problem without the fused step's ``lr=`` keyword: the engine steps afterwards."""

    def __init__(self, problem):
        self._p = problem

    def __getattr__(self, name):
        return getattr(self._p, name)

    def stochastic_grads(self, x, rng, out):
        return self._p.stochastic_grads(x, rng, out=out)


def test_fused_and_unfused_steps_agree_bit_for_bit():
    from empirical.engine import _takes_lr
    case = CASES["three_level_rec7"]
    p = E.HeterogeneousNonconvex(**case["p"])
    kind, args, kw = case["h"]
    h = E.multi_level(*args, **kw)
    assert _takes_lr(p.stochastic_grads) and not _takes_lr(Unfused(p).stochastic_grads)
    fused = E.simulate(p, h, lr=0.03, steps=50, seeds=3, seed=11, record_every=7)
    unfused = E.simulate(Unfused(p), h, lr=0.03, steps=50, seeds=3, seed=11, record_every=7)
    assert digest(fused) == digest(unfused) == PINNED["three_level_rec7"]["sha256"]


def test_bench_ratios_are_reported_and_bad_sizes_rejected():
    from empirical.bench import recording_ratio, step_over_floor
    c = step_over_floor(16, 3, 2, repeats=1, seconds=0.001)
    assert c["engine_us"] > 0 and c["floor_us"] > 0 and c["min"] == c["median"] > 0
    assert recording_ratio(16, 3, 2, repeats=1, seconds=0.001)["min"] > 0
    with pytest.raises(ValueError, match="seeds must be a positive integer"):
        step_over_floor(16, 3, 0)
    with pytest.raises(ValueError, match="seconds must be positive"):
        recording_ratio(16, 3, 2, seconds=0.0)
