"""Figures a reviewer would accept (issue 8, section 5): verdicts as JSON in words with their
basis, uncertainty on measured values, F3 as measured / bound with intervals, one summary line
per figure, and "not applicable" wherever the theorem says nothing."""

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from empirical.statistics import confidence_interval
from figures.paper import f1_sandwich, f2_interpolation, f3_battery, f4_grouping, f5_three_level, f6_sawtooth, f7_digits
from figures.cli import main
from figures.plotting import pyplot, tally, thin, verdict_words
from figures.verdicts import bound_holds

MODULES = {"f1_sandwich": f1_sandwich, "f2_interpolation": f2_interpolation, "f3_battery": f3_battery,
           "f4_grouping": f4_grouping, "f5_three_level": f5_three_level, "f6_sawtooth": f6_sawtooth,
           "f7_digits": f7_digits}
"""The figures that draw measured runs against bounds and keep verdicts (F8 and F9 report power and
slack; they have their own tests)."""
STEMS = [*MODULES, "f8_power", "f9_audit", "f10_partitions", "f11_ranking", "f12_tightness", "f13_replay"]
BASES = {"exact", "statistical", "floating point", "not applicable"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """``hsgd figures --quick`` once: the output directory, the printed lines and every figure's data."""
    out = tmp_path_factory.mktemp("figures")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["figures", "--quick", "--out-dir", str(out), "--no-progress"]) == 0
    data = {stem: json.loads((out / f"{stem}.json").read_text()) for stem in MODULES}
    return out, printed.getvalue().splitlines(), data


def verdicts_in(node):
    """Every verdict (a dict with ``holds`` and ``basis``) anywhere in JSON data."""
    if isinstance(node, dict):
        if "holds" in node and "basis" in node:
            yield node
        for value in node.values():
            yield from verdicts_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from verdicts_in(value)


def strings_in(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings_in(value)
    elif isinstance(node, str):
        yield node


def texts_of(fig):
    import matplotlib.text

    return [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_text()]


def test_quick_build_writes_every_file_then_one_summary_line_per_figure(built):
    out, lines, _ = built
    files = [str(out / f"{stem}.{ext}") for stem in STEMS for ext in ("png", "pdf", "json")]
    assert lines[:len(files)] == files, lines[:len(files) + 2]
    assert all((out / f"{stem}.{ext}").stat().st_size > 0 for stem in STEMS for ext in ("png", "pdf", "json"))
    summary = lines[len(files):]
    assert [line[:line.index(" ") + 2] for line in summary] == [f"F{i} (" for i in range(1, len(STEMS) + 1)]
    for line in summary:
        assert any(f"({basis}" in line for basis in BASES - {"not applicable"}) or "not applicable" in line
        assert "True" not in line and "False" not in line
    assert not list(out.glob(".*.tmp"))


def test_summary_lines_are_the_summary_functions_of_the_saved_data(built):
    _, lines, data = built
    assert lines[3 * len(STEMS):][:len(MODULES)] == [module.summary(data[stem]) for stem, module in MODULES.items()]


def test_every_verdict_is_json_with_its_basis(built):
    _, _, data = built
    for stem, d in data.items():
        found = list(verdicts_in(d))
        if stem != "f6_sawtooth":  # F6 draws no bound and claims no ordering
            assert found, stem
        for v in found:
            assert v["basis"] in BASES and v["holds"] in (True, False, None), (stem, v)
            if v["basis"] == "not applicable":
                assert v["holds"] is None and v["detail"], (stem, v)
        assert not any(s.startswith("Verdict(") for s in strings_in(d)), stem  # no repr of an object


def test_titles_and_legends_use_words_not_booleans_or_code_names(built):
    plt = pyplot()
    _, _, data = built
    for stem, module in MODULES.items():
        fig = getattr(module, f"draw_{stem.split('_')[0]}")(data[stem])
        try:
            texts = texts_of(fig)
            for word in ("True", "False", "local_I", "local_G", "hsgd", "eps_levels", "None"):
                assert not any(word in t for t in texts), (stem, word, [t for t in texts if word in t])
            for ax in fig.axes:  # every axis labelled
                assert ax.get_xlabel() and ax.get_ylabel(), (stem, ax.get_title())
        finally:
            plt.close(fig)


def test_measured_curves_carry_bands_and_differences_carry_intervals(built):
    _, _, data = built
    for panel in data["f1_sandwich"]["panels"] + [data["f5_three_level"]]:
        for curve in list(panel["curves"].values()) + list(panel["differences"].values()):
            lo, mean, hi = (np.asarray(curve[k], dtype=float) for k in ("low", "mean", "high"))
            assert lo.shape == mean.shape and np.all(lo <= mean) and np.all(mean <= hi) and np.any(lo < hi)
        for diff in panel["final_differences"].values():
            assert diff["ci_low"] <= diff["mean"] <= diff["ci_high"]
    for row in data["f4_grouping"]["rows"]:
        for v in list(row["empirical"].values()) + list(row["differences"].values()):
            assert v["ci_low"] < v["mean"] < v["ci_high"]
    for run in ("local_I", "hsgd", "local_G"):
        for metric in ("train_loss", "test_accuracy"):
            band = data["f7_digits"][run][metric]
            assert all(lo <= m <= hi for lo, m, hi in zip(band["low"], band["mean"], band["high"]))


def test_f3_is_the_ratio_with_an_interval_per_point_and_bound_holds_per_point(built):
    _, _, data = built
    points = data["f3_battery"]["points"]
    assert points
    for p in points:
        mean, lo, hi = confidence_interval(p["samples"])
        assert p["ratio"] == pytest.approx(mean / p["bound"]) and p["ratio"] == pytest.approx(p["measured"] / p["bound"])
        assert p["ratio_low"] == pytest.approx(lo / p["bound"]) and p["ratio_high"] == pytest.approx(hi / p["bound"])
        assert p["ratio_low"] < p["ratio"] < p["ratio_high"] < 1
        assert p["verdict"] == {**bound_holds(p["samples"], p["bound"], name="H-SGD").to_json(), "claim": p["verdict"]["claim"]}
        assert p["verdict"]["holds"] is True and p["verdict"]["basis"] == "statistical"
    assert data["f3_battery"]["max_ratio"] == max(p["ratio"] for p in points)


def test_f3_legend_has_no_entry_without_points(built):
    plt = pyplot()
    _, _, data = built
    only_random = dict(data["f3_battery"], points=[p for p in data["f3_battery"]["points"] if p["grouping"] == "random"])
    fig = f3_battery.draw_f3(only_random)
    try:
        entries = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    finally:
        plt.close(fig)
    assert "colour: random grouping" in entries and not any("homogeneous" in e or "heterogeneous" in e for e in entries)
    periods = {(p["I"], p["G"]) for p in only_random["points"]}
    settings = {(p["sigma"], p["between"], p["within"]) for p in only_random["points"]}
    assert len(entries) == 1 + len(periods) + len(settings) + 1  # colour, markers, fills, the line ratio = 1


def _f3_points(settings, periods, groupings):
    """Hand-made F3 points: every combination, the first one not applicable."""
    points = []
    for N, (sigma, between, within) in enumerate(settings, start=1):
        for I, G in periods:
            for grouping in groupings:
                points.append(dict(N=N, I=I, G=G, grouping=grouping, sigma=sigma, between=between, within=within,
                                   ratio=0.02, ratio_low=0.015, ratio_high=0.025, gamma=0.005, L=9.0, F0=5.0,
                                   estimated=[], verdict={"holds": True, "basis": "statistical"}))
    points[0]["verdict"] = {"holds": None, "basis": "not applicable", "detail": "step-size condition fails"}
    return {"points": points, "max_ratio": 0.02, "median_ratio": 0.02, "steps": [400], "seeds": [4]}


def test_f3_every_marker_style_means_one_thing_and_the_legend_says_which():
    """Issue 18: hollow meant a noise setting on the points and 'any fill' in the legend, and a
    third setting was drawn filled like the first. Colour is the grouping (grey: not applicable),
    shape the periods, fill the setting: each a one-to-one map, each named in the legend."""
    plt = pyplot()
    settings = [(0.5, 2.0, 1.0), (2.0, 1.0, 0.5), (1.0, 0.5, 0.5)]
    periods = [(1, 10), (2, 10), (5, 20), (3, 30)]
    groupings = ["random", "homogeneous", "heterogeneous", "contiguous"]
    data = _f3_points(settings, periods, groupings)
    fig = f3_battery.draw_f3(data)
    try:
        ax = fig.axes[0]
        lines = [container.lines[0] for container in ax.containers]
        entries = [t.get_text() for t in ax.get_legend().get_texts()]
    finally:
        plt.close(fig)
    assert len(lines) == len(data["points"])

    def fill(line):
        face = line.get_markerfacecolor()
        hollow = line.get_fillstyle() == "none" or (isinstance(face, str) and face in ("white", "none"))
        return line.get_fillstyle(), hollow

    meanings = {"shape": {}, "fill": {}, "colour": {}}
    for p, line in zip(data["points"], lines):
        na = p["verdict"]["basis"] == "not applicable"
        for kind, meaning, style in (("shape", (p["I"], p["G"]), line.get_marker()),
                                     ("fill", (p["sigma"], p["between"], p["within"]), fill(line)),
                                     ("colour", "not applicable" if na else p["grouping"], line.get_color())):
            meanings[kind].setdefault(style, set()).add(meaning)
    for kind, by_style in meanings.items():
        assert all(len(m) == 1 for m in by_style.values()), (kind, by_style)  # a style means one thing
    assert len(meanings["shape"]) == len(periods) and len(meanings["fill"]) == len(settings)
    assert len(meanings["colour"]) == len(groupings) + 1  # and each thing has its own style
    kinds = [e.split(":")[0] for e in entries[:-1]]
    assert kinds == ["colour"] * (len(groupings) + 1) + ["shape"] * len(periods) + ["fill"] * len(settings), entries
    assert entries[-1] == "measured = bound (ratio 1)"
    assert {e.split(", sigma")[0] for e in entries if e.startswith("fill:")} == {
        "fill: filled", "fill: hollow", "fill: left half filled"}


def test_f3_point_whose_condition_fails_is_not_applicable(tmp_path):
    config = dict(f3_battery.battery_configs(quick=True)[0], steps=50, lr=0.02)  # L = 9: 4 gamma^2 L^2 (...) > 1
    point = f3_battery.battery_point(config)
    assert point["verdict"]["holds"] is None and point["verdict"]["basis"] == "not applicable"
    assert "step-size condition" in point["verdict"]["detail"] and "fails" in point["verdict"]["detail"]
    admissible = f3_battery.battery_point(dict(config, lr=None))
    assert admissible["verdict"]["holds"] is True  # the same configuration at the admissible step size


def test_f2_with_a_step_size_the_condition_rejects_says_not_applicable():
    plt = pyplot()
    good, bad = f2_interpolation.f2_data(), f2_interpolation.f2_data(gamma=0.05)
    assert good["condition"]["holds"] is True and "not applicable" not in f2_interpolation.summary(good)
    assert bad["condition"] == {**bad["condition"], "holds": False, "basis": "exact"}
    assert all(v["basis"] == "not applicable" for v in bad["vs_N"]["verdicts"])
    line = f2_interpolation.summary(bad)
    assert "not applicable on 6 of 6 values of N" in line and "fails" in line
    fig = f2_interpolation.draw_f2(bad)
    try:
        texts = " ".join(texts_of(fig))
    finally:
        plt.close(fig)
    assert "not applicable" in texts and "formulas, not bounds" in texts
    with pytest.raises(ValueError, match="gamma must be positive"):
        f2_interpolation.f2_data(gamma=0.0)


def test_f7_says_the_theorem_is_not_applicable_and_why(built):
    _, lines, data = built
    theorem = data["f7_digits"]["verdicts"]["theorem"]
    assert theorem["holds"] is None and theorem["basis"] == "not applicable"
    assert "estimated" in theorem["detail"] and "L" in data["f7_digits"]["constants"]["estimated"]
    assert "the theorem: not applicable (the constants L" in lines[3 * len(STEMS) + 6]


def crafted_f1(verdict):
    ok = {"holds": True, "basis": "statistical", "detail": ""}
    return {"panels": [{"N": N, "verdicts": {"empirical_sandwich": ok, "bound_valid": verdict,
                                              "bound_sandwich": {"holds": True, "basis": "exact"}}}
                       for N in (2, 4)]}


def test_summary_of_a_figure_whose_condition_fails_says_not_applicable():
    na = {"holds": None, "basis": "not applicable", "detail": "step-size condition gamma*L <= 1 fails: 2 > 1"}
    line = f1_sandwich.summary(crafted_f1(na))
    assert "bounds not applicable on 2 of 2 panels (step-size condition gamma*L <= 1 fails: 2 > 1)" in line
    assert "bounds hold on 2 of 2 panels (statistical)" in f1_sandwich.summary(
        crafted_f1({"holds": True, "basis": "statistical"}))
    mixed = f1_sandwich.summary(crafted_f1({"holds": False, "basis": "statistical"}))
    assert "bounds hold on 0 of 2 panels, fails on 2 (statistical)" in mixed


def test_verdict_words_and_tally():
    assert verdict_words({"holds": False, "basis": "exact"}) == "no (exact)"
    assert verdict_words({"holds": None, "basis": "statistical"}) == "undecided (statistical)"
    with pytest.raises(ValueError, match="verdicts must not be empty"):
        tally([], "panels")
    with pytest.raises(ValueError, match="length must be >= 1"):
        thin(0)


verdict_json = st.sampled_from([{"holds": True, "basis": "statistical"}, {"holds": False, "basis": "exact"},
                                {"holds": None, "basis": "statistical"},
                                {"holds": None, "basis": "not applicable", "detail": "why"}])


@given(st.lists(verdict_json, min_size=1, max_size=12))
def test_tally_accounts_for_every_verdict_once(verdicts):
    import re

    phrase = tally(verdicts, "things")
    counts = {"holds": sum(v["holds"] is True for v in verdicts),
              "fails": sum(v["holds"] is False for v in verdicts),
              "undecided": sum(v["holds"] is None and v["basis"] != "not applicable" for v in verdicts),
              "not applicable": sum(v["basis"] == "not applicable" for v in verdicts)}
    found = {k: int(m.group(1)) for k in counts if (m := re.search(rf"{k} on (\d+)", phrase))}
    assert sum(found.values()) == len(verdicts)
    assert all(found.get(k, 0) == n for k, n in counts.items() if k != "holds" or found)
    assert "True" not in phrase and "False" not in phrase


def test_thin_keeps_the_ends_and_at_most_about_most_points():
    for length in (1, 2, 599, 600, 601, 3000):
        idx = thin(length)
        assert idx[0] == 0 and idx[-1] == length - 1 and len(idx) <= 601 and np.all(np.diff(idx) > 0)
