"""Every option of every subcommand, given a bad value: exit status 2 and one clear line.

The line is ``hsgd: error: ...`` on standard error, it names the option (``--eps-g`` or the
parameter ``eps_g``), and there is no traceback and nothing on standard output. Values come
from hypothesis (negative, zero, non-numeric, NaN, inf, huge, non-integral, empty list items);
the cross-option rules (periods that do not nest, options of another mode, memory, output
folders) are listed case by case. ``hsgd check`` must refuse before any simulation starts:
the simulator's setup is replaced by a tripwire while these tests run.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from figures.cli import main

FAST = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- bad values, by the rule an option follows ----------------------------------------------
NOT_NUMBERS = st.sampled_from(["abc", "", " ", "one", "1,2", "0x1g", "-", "1e", "5..0", "nan?"])
NON_FINITE = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400"])
NON_INTEGRAL = st.floats(min_value=0.01, max_value=1e6).filter(lambda v: not v.is_integer()).map(repr)
HUGE_INTEGERS = st.integers(min_value=2**63, max_value=10**40).map(str) | st.sampled_from(["1e24", "1e19"])

BAD_COUNT = (st.integers(max_value=0).map(str) | NON_INTEGRAL | NON_FINITE | HUGE_INTEGERS | NOT_NUMBERS)
BAD_SEED = (st.integers(max_value=-1).map(str) | NON_INTEGRAL | NON_FINITE | HUGE_INTEGERS | NOT_NUMBERS)
BAD_POSITIVE = (st.floats(max_value=0, allow_nan=False, allow_infinity=False).map(repr) | NON_FINITE | NOT_NUMBERS)
BAD_NON_NEGATIVE = (st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False).map(repr) | NON_FINITE
                    | NOT_NUMBERS)


@st.composite
def bad_count_list(draw: st.DrawFn) -> str:
    """A comma-separated list of counts with an empty or bad item somewhere."""
    items = draw(st.lists(st.integers(1, 100).map(str), min_size=1, max_size=4))
    bad = draw(st.just("") | st.just(" ") | BAD_COUNT.filter(lambda t: "," not in t))
    items.insert(draw(st.integers(0, len(items))), bad)
    return ",".join(items)


@st.composite
def bad_real_list(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.sampled_from(["1", "0.5", "0"]), min_size=1, max_size=4))
    bad = draw(st.just("") | BAD_NON_NEGATIVE.filter(lambda t: "," not in t))
    items.insert(draw(st.integers(0, len(items))), bad)
    return ",".join(items)


RULES = {"count": BAD_COUNT, "seed": BAD_SEED, "positive": BAD_POSITIVE, "non-negative": BAD_NON_NEGATIVE,
         "counts": bad_count_list(), "reals": bad_real_list()}

# --- every option, with the rule it follows -------------------------------------------------
COMMON = {"L": "positive", "sigma": "non-negative", "n": "count", "T": "count", "F0": "non-negative"}
KIND_OPTIONS = {
    "two-level": {"N": "count", "I": "count", "G": "count", "eps-g": "non-negative", "eps-l": "non-negative"},
    "local": {"P": "count", "eps": "non-negative"},
    "multi-level": {"periods": "counts", "groups": "counts", "eps": "reals"},
}
PROBLEM = {"n": "count", "d": "count", "sigma": "non-negative", "between": "non-negative",
           "within": "non-negative", "clusters": "count", "problem-seed": "seed"}
HIERARCHY = {"N": "count", "I": "count", "G": "count", "groups": "counts", "periods": "counts",
             "grouping-seed": "seed"}
CASES = []  # (command words, option, rule, extra options the option needs)
for kind, options in KIND_OPTIONS.items():
    for option, rule in {**COMMON, **options}.items():
        CASES.append((["bound", kind], option, rule, []))
        CASES.append((["bound", "optimal-lr", kind], option, rule, []))
    CASES.append((["bound", kind], "gamma", "positive", []))
    if kind != "local":
        CASES.append((["bound", kind], "eps-total", "non-negative", ["--random-grouping"]))
for option, rule in {**PROBLEM, **HIERARCHY, "lr": "positive", "steps": "count", "seeds": "count",
                     "seed": "seed", "record-every": "count"}.items():
    CASES.append((["simulate"], option, rule, ["--no-progress"]))
for option, rule in {**PROBLEM, **HIERARCHY, "lr": "positive", "steps": "count", "seeds": "count",
                     "seed": "seed"}.items():
    CASES.append((["check"], option, rule, ["--no-progress"]))
for option, rule in {"alpha": "positive", "participation": "positive", "classes-per-worker": "count"}.items():
    CASES.append((["check"], option, rule, ["--no-progress"]))
COST = {"local-latency": "non-negative", "local-bandwidth": "positive", "global-latency": "non-negative",
        "global-bandwidth": "positive", "compute": "non-negative", "model-bytes": "positive"}
for option, rule in COST.items():
    CASES.append((["check"], option, rule, ["--no-progress", "--time"]))
    CASES.append((["advise"], option, rule, []))
for option in ("points", "repeats", "subs-points"):
    CASES.append((["bench", "bounds"], option, "count", []))


@contextlib.contextmanager
def no_simulation():
    """A tripwire: the simulator's setup (after its input checks) raises."""
    with mock.patch("empirical.engine.SortedLevels", side_effect=AssertionError("a simulation started")):
        yield


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with no_simulation(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def assert_one_clear_line(argv: list[str], *names: str) -> str:
    """Exit 2, nothing on stdout, one ``hsgd: error:`` line naming one of ``names``; returns the line."""
    code, out, err = run(argv)
    assert code == 2, (argv, code, out, err)
    assert out == "", (argv, out)
    assert err.endswith("\n") and err.count("\n") == 1, (argv, err)
    assert err.startswith("hsgd: error: ") and "Traceback" not in err, (argv, err)
    patterns = []
    for name in names:  # the option as typed, or the parameter it sets
        patterns += [re.escape(f"--{name}"), rf"(?<![\w-]){re.escape(name.replace('-', '_'))}(?!\w)"]
    assert re.search("|".join(patterns), err), (argv, names, err)
    return err


@pytest.mark.parametrize("command, option, rule, extra", CASES,
                         ids=[f"{' '.join(c)} --{o}" for c, o, _, _ in CASES])
def test_every_option_rejects_bad_values_in_one_line(command, option, rule, extra):
    @FAST
    @given(value=RULES[rule])
    def check(value: str) -> None:
        assert_one_clear_line(command + extra + [f"--{option}={value}"], option)

    check()


def test_a_wrong_value_is_what_is_rejected():
    """The harness can fail: good values of the same options pass (and would fail assert_one_clear_line)."""
    assert run(["bound", "two-level", "--T=1e4", "--gamma=0.001", "--eps-g=0"])[0] == 0
    assert run(["bound", "multi-level", "--periods=5,25", "--groups=4", "--eps=1,0.5"])[0] == 0
    with pytest.raises(AssertionError):
        assert_one_clear_line(["bound", "two-level", "--T=10"], "T")
    with pytest.raises(AssertionError, match="a simulation started"):
        run(["simulate", "--steps=5", "--no-progress"])


@FAST
@given(I=st.integers(2, 30), k=st.integers(1, 10), r=st.integers(1, 29))
def test_periods_that_do_not_nest(I, k, r):
    G = I * k + (r % I or 1)  # not a multiple of I
    for command in (["bound", "two-level"], ["bound", "optimal-lr", "two-level"], ["simulate"], ["check"]):
        err = assert_one_clear_line(command + [f"--I={I}", f"--G={G}"], "G")
        assert "G must be a multiple of I" in err
    err = assert_one_clear_line(["bound", "multi-level", f"--periods={I},{G}", "--groups=4", "--eps=1,1"], "periods")
    assert "must be a multiple of" in err


@pytest.mark.parametrize("argv, names, message", [
    (["bound", "two-level", "--eps-total=2"], ["eps-total"], "applies only with --random-grouping"),
    (["bound", "multi-level", "--eps-total=2"], ["eps-total"], "applies only with --random-grouping"),
    (["bound", "two-level", "--random-grouping", "--eps-l=1"], ["eps-l"], "not used with --random-grouping"),
    (["bound", "optimal-lr", "multi-level", "--random-grouping", "--eps=1,1,1"], ["eps"], "not used with"),
    (["bound", "two-level", "--N=64"], ["N"], "N must be at most n"),
    (["bound", "two-level", "--T=1e24"], ["T"], "must be an integer from 1 to 2**53 - 1, got '1e24'"),
    (["bound", "multi-level", "--periods=5,,100"], ["periods"], "item 2 of '5,,100' is empty"),
    (["bound", "multi-level", "--periods=5,25,100", "--groups=4"], ["groups"], "groups must list"),
    (["bound", "sandwich", "--levels=1"], ["levels"], "must be an integer from 2 to 10"),
    (["bound", "sandwich", "--levels=1e9"], ["levels"], "must be an integer from 2 to 10"),
    (["bound", "sandwich", "--grouping=none"], ["grouping"], "invalid choice"),
    (["simulate", "--steps=10000000000", "--record-every=1", "--no-progress"], ["steps"], "--record-every"),
    (["simulate", "--n=100000000000", "--no-progress"], ["n"], "for the state alone"),
    (["simulate", "--n=4", "--N=8"], ["N"], "N must be at most n"),
    (["simulate", "--groups=4,2"], ["groups", "periods"], "--groups and --periods go together"),
    (["simulate", "--periods=5,25", "--groups=4", "--G=25"], ["G"], "leave it out"),
    (["simulate", "--problem=logistic", "--sigma=2"], ["sigma"], "applies only to --problem nonconvex"),
    (["simulate", "--grouping=contiguous", "--grouping-seed=3"], ["grouping-seed"], "only to --grouping random"),
    (["simulate", "--problem=quadratic"], ["problem"], "invalid choice"),
    (["simulate", "--grouping=sorted"], ["grouping"], "invalid choice"),
    (["simulate", "--T=5"], ["T"], "unrecognized arguments"),
    (["check", "--steps=10000000000", "--no-progress"], ["steps"], "needs"),
    (["check", "--problem=logistic", "--within=2"], ["within"], "applies only to --problem nonconvex"),
    (["check", "--I=5", "--G=50", "--periods=5,50", "--groups=4"], ["I"], "leave it out"),
    (["figures", "--only=f99"], ["only"], "unknown figure 'f99'"),
    (["check", "--problem=digits", "--partition=dirichlet"], ["partition"], "needs --alpha"),
    (["check", "--partition=dirichlet", "--alpha=0.1"], ["partition"], "needs --problem digits or logistic"),
    (["check", "--alpha=0.5"], ["alpha"], "needs --partition"),
    (["check", "--weights=data"], ["weights"], "needs --partition"),
    (["check", "--problem=logistic", "--partition=dirichlet", "--alpha=0.001", "--n=64"], ["alpha"],
     "left with no data"),
    (["check", "--participation=1.5", "--no-progress"], ["participation"], "fraction in (0, 1]"),
    (["check", "--global-latency=0.1", "--no-progress"], ["global-latency"], "add --time"),
    (["check", "--time", "--middle-latency=0.1", "--middle-bandwidth=1e7"], ["time"], "leave out --middle-latency"),
    (["check", "--time", "--periods=5,25,100", "--groups=16,4"], ["time"], "add --middle-latency"),
    (["check", "--problem=digits", "--partition=iid", "--alpha=0.1"], ["alpha"], "only to --partition dirichlet"),
    (["check", "--time", "--compute", "-1e-3"], ["compute"], "non-negative"),
    (["advise", "--local-latency", "-1e-4"], ["local-latency"], "non-negative"),
    (["advise", "--middle-latency=0.1"], ["middle-latency"], "go together"),
    (["advise", "--partition=iid", "--problem=digits"], ["partition"], "not supported"),
    (["check", "--participation=0.5", "--theorem=sharp", "--no-progress"], ["theorem"], "no weighted or partial-participation version"),
    (["check", "--participation-mode=global_round"], ["participation-mode"], "it needs --participation"),
    (["check", "--participation=0.5", "--participation-mode=local"], ["participation-mode"], "invalid choice"),
    (["replay", "--rounds=0"], ["rounds"], "must be an integer from 1 to 1000000"),
    (["replay", "--out=."], ["out"], "(OUT.png, OUT.pdf and OUT.json are written next to it)"),
    (["simulate", "--out=."], ["out"], "(OUT.npz and OUT.json are written next to it)"),
    (["figures", "--only=f2,,f3"], ["only"], "item 2 of 'f2,,f3' is empty"),
    (["figures", "--only=f2, "], ["only"], "item 2 of 'f2, ' is empty"),
    (["figures", "--only="], ["only"], "at least one item"),
    (["bench", "nothing"], ["nothing"], "invalid choice"),
    (["nothing"], ["nothing"], "invalid choice"),
    ([], ["COMMAND"], "required"),
])
def test_cross_option_rules(argv, names, message):
    assert message in assert_one_clear_line(argv, *names)


@pytest.mark.parametrize("command, option", [(["simulate"], "out"), (["check"], "out-dir"), (["figures"], "out-dir")])
def test_output_paths_under_a_missing_folder_are_refused_before_any_work(tmp_path, command, option):
    target = tmp_path / "missing" / "deeper" / "run"
    err = assert_one_clear_line(command + [f"--{option}={target}"], option)
    assert f"{tmp_path / 'missing'}: folder does not exist" in err
    assert not (tmp_path / "missing").exists()


def test_an_unwritable_output_folder_is_one_line():
    """The path and the reason, not a 38-line traceback; refused before the figure is built
    (issue 18 item 10: /proc accepts no new file)."""
    err = assert_one_clear_line(["figures", "--out-dir=/proc/nope", "--only=f2", "--quick", "--no-progress"],
                                "out-dir")
    assert "--out-dir /proc/nope: /proc: cannot create a file in this folder (No such file or directory)" in err
    assert not Path("/proc/nope").exists()


@pytest.mark.parametrize("argv, where", [
    (["check", "--nonsense", "3"], "check"),
    (["bench", "engine", "--quik"], "bench engine"),
    (["bound", "two-level", "--gamma", "0.001", "--extra", "1"], "bound two-level"),
    (["bound", "optimal-lr", "two-level", "--extra", "1"], "bound optimal-lr two-level"),  # nested commands
    (["--extra", "bench", "engine"], ""),  # before any command: the top level's
])
def test_an_unknown_option_is_named_with_its_command_and_help_page(argv, where):
    code, out, err = run(argv)
    unknown = " ".join(argv[argv.index(next(a for a in argv if a in ("--nonsense", "--quik", "--extra"))):])
    unknown = "--extra" if where == "" else unknown
    assert code == 2 and out == ""
    prefix, page = (f"{where}: ", f"hsgd {where}") if where else ("", "hsgd")
    assert err == f"hsgd: error: {prefix}unrecognized arguments: {unknown} (see '{page} --help')\n"


# --- issue 18 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [["check", "--steps=1e10", "--no-progress"],
                                  ["check", "--seeds=1e6", "--no-progress"]])
def test_memory_advice_names_only_options_the_command_has(argv):
    """hsgd check has no --record-every: the advice is fewer --steps or --seeds (item 16)."""
    err = assert_one_clear_line(argv, "steps", "seeds")
    assert "record" not in err and "use at most --steps" in err


def test_memory_advice_of_simulate_offers_record_every():
    # --record-every 1: with the default (about 1,000 records) 1e10 steps fit in memory and would run
    err = assert_one_clear_line(["simulate", "--steps=1e10", "--record-every=1", "--no-progress"], "steps")
    assert re.search(r"--record-every \d+ fits", err) and "record_every" not in err


@pytest.mark.parametrize("argv, name, message", [
    (["advise", "--target=1e-300"], "target", "give a larger target"),
    (["advise", "--compute=1e308"], "compute", "at most 1e+30"),
    (["advise", "--global-latency=1e31"], "global-latency", "at most 1e+30"),
    (["advise", "--local-bandwidth=1e-300"], "local-bandwidth", "from 1e-30 to 1e+30"),
    (["advise", "--model-bytes=1e308"], "model-bytes", "from 1e-30 to 1e+30"),
    (["check", "--time", "--compute=1e308"], "compute", "at most 1e+30"),
])
def test_advise_targets_and_costs_out_of_range(argv, name, message):
    """Item 14: an OverflowError traceback (1e-300) or a time of inf (1e308) before."""
    err = assert_one_clear_line(argv, name)
    assert message in err and "nan" not in err and "gamma" not in err


def test_advise_a_huge_target_is_reached_in_one_step():
    """--target 1e308 said 'parameter gamma must be finite, got nan': every design reaches it at T = 1."""
    import json

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["advise", "--target=1e308", "--top=1", "--seeds=1", "--max-steps=1", "--json"])
    assert code == 0, err.getvalue()
    assert "nan" not in out.getvalue().lower() and "inf" not in out.getvalue().lower()
    advice = json.loads(out.getvalue())
    assert {d["predicted_steps"] for d in advice["designs"] + advice["baselines"]} == {1}


@pytest.mark.parametrize("command", [["check", "--no-progress"], ["simulate", "--no-progress"], ["advise"]])
@pytest.mark.parametrize("option, value, rule", [
    ("between", "1e308", "at most 1000"), ("between", "1e150", "at most 1000"), ("between", "1e9", "at most 1000"),
    ("between", "1e6", "at most 1000"), ("within", "1e308", "at most 1000"), ("within", "1e6", "at most 1000"),
    ("sigma", "1e308", "at most 1e+50"), ("sigma", "1e100", "at most 1e+50"),
    ("clusters", "1e15", "at most --n"),
])
def test_problem_options_out_of_range(command, option, value, rule):
    """Item 15: an OverflowError traceback, 'Maximum allowed size exceeded', an out-of-memory line
    about steps and seeds, or a 100 s certification before; now one line naming the option."""
    assert rule in assert_one_clear_line(command + [f"--{option}={value}"], option)


def test_the_ranges_are_stated_in_help():
    code, out, _ = run(["check", "--help"])
    text = " ".join(out.split())
    assert code == 0
    assert "at most 1000: certifying eps" in text and "at most 1e+50" in text and "at most 1e30" in text


def test_out_of_memory_advice_of_check_does_not_name_record_every():
    with mock.patch("figures.cli.check._run_check", side_effect=MemoryError("Unable to allocate 74 GiB")):
        err = assert_one_clear_line(["check", "--no-progress"], "seeds", "steps")
    assert "record" not in err


@pytest.mark.parametrize("argv, name, message", [
    (["simulate", "--out=", "--no-progress"], "out", "must name a file"),
    (["check", "--out-dir=", "--no-progress"], "out-dir", "must name a folder"),
    (["figures", "--out-dir=", "--only=f2"], "out-dir", "must name a folder"),
    (["power", "--out-dir= "], "out-dir", "must name a folder"),
])
def test_an_empty_output_path_is_refused(argv, name, message):
    """Item 18: --out '' saved nothing, --out-dir '' wrote into the current folder, silently."""
    assert message in assert_one_clear_line(argv, name)


@pytest.mark.parametrize("slash", ["/", ""])
def test_simulate_out_naming_a_folder_is_refused(tmp_path, slash):
    """--out sub/ wrote sub.npz beside the folder: refused, with a name inside it as the example."""
    (tmp_path / "sub").mkdir()
    err = assert_one_clear_line(["simulate", f"--out={tmp_path / 'sub'}{slash}", "--no-progress"], "out")
    assert "folder" in err and str(tmp_path / "sub" / "run") in err
    assert list(tmp_path.iterdir()) == [tmp_path / "sub"]


@pytest.mark.parametrize("argv, name, message", [
    (["bound", "multi-level", "--periods=5,50"], "groups", "give --groups with 1 value(s)"),
    (["bound", "multi-level", "--periods=5,50", "--groups=4"], "eps", "give --eps with 2 value(s)"),
    (["bound", "multi-level", "--groups=4"], "periods", "give --periods with 2 value(s)"),
    (["bound", "optimal-lr", "multi-level", "--periods=5"], "groups", "give --groups with 0 value(s)"),
])
def test_multi_level_defaults_follow_the_given_depth(argv, name, message):
    """Item 18: the 3-level defaults of --groups/--eps failed on --periods 5,50 with 'groups must
    list the 1 intermediate group counts ... got 2', naming no option to give."""
    assert message in assert_one_clear_line(argv, name)


def test_multi_level_defaults_still_apply_at_their_depth():
    assert run(["bound", "multi-level"])[0] == 0
    assert run(["bound", "multi-level", "--periods=5,25,100", "--random-grouping"])[0] == 0
    assert run(["bound", "multi-level", "--periods=5,50", "--groups=4", "--random-grouping"])[0] == 0


@pytest.mark.parametrize("command", [["check", "--no-progress"], ["simulate", "--no-progress"], ["advise"]])
def test_options_digits_does_not_use_are_refused(command):
    """Item 18: --d was silently ignored for --problem digits while --sigma was refused."""
    assert "applies only to --problem nonconvex or logistic" in assert_one_clear_line(
        command + ["--problem=digits", "--d=5"], "d")


def test_bound_latex_with_json_is_json():
    """Item 18: --latex --json printed bare LaTeX, ignoring --json."""
    import json

    code, out, err = run(["bound", "two-level", "--latex", "--json"])
    assert code == 0 and err == ""
    payload = json.loads(out)
    assert payload["latex"].startswith("\\frac{2 F_0}") and payload["bound"] == "Theorem 2 (two-level H-SGD)"


def test_problems_print_as_their_parameters():
    """Item 18: hsgd simulate --problem digits printed '<...DigitsMLP object at 0x...>'."""
    from empirical.problems import FiniteSumLogistic, HeterogeneousNonconvex
    from empirical.problems.digits import DigitsMLP

    assert repr(DigitsMLP(n=8)).startswith("DigitsMLP(n=8, hidden=16,")
    assert repr(FiniteSumLogistic(n=4)) == "FiniteSumLogistic(n=4, d=10, m=64, batch=4, shift=1.0, lam=0.1, seed=0)"
    assert repr(HeterogeneousNonconvex(n=4)).startswith("HeterogeneousNonconvex(n=4, d=10, clusters=4,")


def test_a_step_size_at_which_the_bounds_overflow_names_lr():
    """An lr of 1e308 ended in 'the bound is not finite ... rescale the problem', naming nothing the
    user typed; the runs' divergence warning no longer adds lines either (the checker reports it)."""
    err = assert_one_clear_line(["check", "--lr=1e308", "--steps=10", "--workers=1"], "lr")
    assert "overflow" in err and "condition allows lr <=" in err


@pytest.mark.parametrize("argv, name", [(["bound", "local", "--sigma=1e308"], "sigma"),
                                        (["bound", "two-level", "--L=1e300"], "L")])
def test_an_overflowing_bound_names_the_largest_input(argv, name):
    """'float64 overflows; rescale the problem' named no option the user typed."""
    err = assert_one_clear_line(argv, name)
    assert f"largest: {name} = " in err
