"""``hsgd figures``: bad figure names are one line; a partial build prints only its own summaries.

The full quick build (every file, every summary line) is tested in tests/figures/test_figures.py.
"""

import json

from figures.paper.build import FIGURES, SUMMARIES, summaries
from figures.cli import main


def test_unknown_figure_is_rejected(tmp_path, capsys):
    assert main(["figures", "--only", "f99", "--out-dir", str(tmp_path), "--no-progress"]) == 2
    assert "unknown figure 'f99'" in capsys.readouterr().err


def test_partial_build_prints_its_files_then_one_summary_line_per_figure(tmp_path, capsys):
    assert main(["figures", "--quick", "--only", "f2,f6", "--out-dir", str(tmp_path), "--no-progress"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:6] == [str(tmp_path / f"{stem}.{ext}") for stem in ("f2_interpolation", "f6_sawtooth")
                         for ext in ("png", "pdf", "json")]
    assert len(lines) == 8 and lines[6].startswith("F2 (") and lines[7].startswith("F6 (")
    assert "(exact)" in lines[6] and "(floating point" in lines[7]
    f6 = json.loads((tmp_path / "f6_sawtooth.json").read_text())
    up, down = f6["upward"]["mean"], f6["downward"]["mean"]
    assert up[50] < 1e-20 < up[49] and down[5] < 1e-20 < down[4]  # the sawtooth resets
    assert set(SUMMARIES) == set(FIGURES)


def test_summaries_reject_unknown_names(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="unknown figure 'f0'"):
        summaries(tmp_path, ["f0"])


def test_a_quick_build_never_replaces_the_full_figures(monkeypatch, tmp_path):
    """Without --out-dir, --quick writes to out/figures-quick, the full build to figures/."""
    import figures.cli.figures as command

    seen = []
    monkeypatch.setattr(command, "build_all", lambda out_dir, **kw: seen.append(str(out_dir)) or [])
    monkeypatch.setattr(command, "summaries", lambda out_dir, only=None: [])
    monkeypatch.chdir(tmp_path)
    assert main(["figures", "--quick", "--no-progress"]) == 0
    assert main(["figures", "--no-progress"]) == 0
    assert seen == ["out/figures-quick", "figures"]


def test_figures_built_in_a_pool_are_the_same_as_built_one_by_one(tmp_path):
    """Both cores: the non-sweep figures run in a process pool; seeded, so the data are identical."""
    from figures.paper.build import build_all

    pooled = build_all(tmp_path / "pool", quick=True, only=["f2", "f6"], progress=False, workers=2)
    serial = build_all(tmp_path / "serial", quick=True, only=["f2", "f6"], progress=False, workers=1)
    assert [p.name for p in pooled] == [p.name for p in serial]
    for a, b in zip(pooled, serial):
        if a.suffix == ".json":
            assert a.read_bytes() == b.read_bytes()
