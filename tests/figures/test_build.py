"""``hsgd figures --quick`` produces every file, and F3's battery stays under the diagonal."""

import json

from figures.build import FIGURES
from figures.cli import main


def test_quick_build_writes_every_figure_with_its_data(tmp_path, capsys):
    assert main(["figures", "--quick", "--out-dir", str(tmp_path), "--no-progress"]) == 0
    printed = capsys.readouterr().out.split()
    stems = ["f1_sandwich", "f2_interpolation", "f3_battery", "f4_grouping", "f5_three_level", "f6_sawtooth",
             "f7_digits"]
    assert len(FIGURES) == len(stems)
    for stem in stems:
        for ext in ("png", "pdf", "json"):
            path = tmp_path / f"{stem}.{ext}"
            assert path.stat().st_size > 0 and str(path) in printed
    f3 = json.loads((tmp_path / "f3_battery.json").read_text())
    assert f3["all_under_diagonal"] and all(p["measured"] <= p["bound"] for p in f3["points"])
    f5 = json.loads((tmp_path / "f5_three_level.json").read_text())
    assert f5["verdicts"]["bound_sandwich"] and f5["verdicts"]["bound_valid"]
    f6 = json.loads((tmp_path / "f6_sawtooth.json").read_text())
    assert f6["upward"][50] < 1e-20 < f6["upward"][49] and f6["downward"][5] < 1e-20 < f6["downward"][4]  # resets
    f7 = json.loads((tmp_path / "f7_digits.json").read_text())
    assert all(f7[k]["train_loss"][-1] < f7[k]["train_loss"][0] for k in ("local_I", "hsgd", "local_G"))
    assert not list(tmp_path.glob(".*.tmp"))


def test_unknown_figure_is_rejected(tmp_path, capsys):
    assert main(["figures", "--only", "f9", "--out-dir", str(tmp_path), "--no-progress"]) == 2
    assert "unknown figure 'f9'" in capsys.readouterr().err
