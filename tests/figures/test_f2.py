"""F2: the data behind the interpolation figure, and the files it writes."""

import json

import numpy as np
import pytest

from figures.paper.f2_interpolation import build_f2, f2_data


def test_hsgd_bound_is_the_convex_combination_in_N_and_between_in_G():
    data = f2_data()
    v = data["vs_N"]
    w = np.array(v["weight_on_G"])
    combo = (1 - w) * np.array(v["local_I"]) + w * np.array(v["local_G"])
    np.testing.assert_allclose(v["hsgd"], combo, rtol=1e-12)
    assert v["hsgd"][0] == pytest.approx(v["local_I"][0], rel=1e-12)  # N = 1
    assert v["hsgd"][-1] == pytest.approx(v["local_G"][-1], rel=1e-12)  # N = n
    g = data["vs_G"]
    assert all(lo <= h <= hi for lo, h, hi in zip(g["local_I"], g["hsgd"], g["local_G"]))
    assert np.all(np.diff(g["hsgd"]) > 0)


def test_build_writes_png_pdf_and_data(tmp_path):
    paths = build_f2(tmp_path, quick=True)
    assert sorted(p.suffix for p in paths) == [".json", ".pdf", ".png"]
    assert all(p.stat().st_size > 0 for p in paths)
    assert json.loads((tmp_path / "f2_interpolation.json").read_text())["vs_G"]["G"] == [5, 10, 50]
    assert not list(tmp_path.glob(".*.tmp"))  # nothing half-written left behind
