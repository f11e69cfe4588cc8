"""The public names of each package (issue 8): exported where a user looks, and cheap to import.

``import figures`` must not pull in matplotlib, sympy or the simulator (its exports load on
first use), and ``import bounds`` must not pull in hypothesis (``bounds.strategies`` is
imported explicitly). Each import is checked in a fresh interpreter, so the modules other
tests loaded do not hide an eager import.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import bounds
import empirical
import figures


def fresh_modules(code: str) -> set[str]:
    """The modules loaded after running ``code`` in a new interpreter."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("package, names, home", [
    (empirical, ["estimate_smoothness", "pilot_trajectory", "PilotTrajectory"], "empirical.smoothness"),
    (figures, ["run_check", "CheckResult", "draw_check"], "figures.checker"),
    (figures, ["Verdict"], "figures.verdicts"),
])
def test_exported_names_are_the_modules_own(package, names, home):
    module = sys.modules.get(home) or __import__(home, fromlist=["_"])
    for name in names:
        assert name in package.__all__
        assert getattr(package, name) is getattr(module, name)


def test_figures_exports_load_lazily():
    loaded = fresh_modules("import figures")
    assert not {"matplotlib", "sympy", "figures.checker", "figures.verdicts", "empirical.engine"} & loaded
    loaded = fresh_modules("from figures import Verdict")
    assert "figures.verdicts" in loaded and "figures.checker" not in loaded and "matplotlib" not in loaded


def test_unknown_names_and_submodules_still_behave():
    with pytest.raises(AttributeError, match="has no attribute 'no_such_name'"):
        figures.no_such_name  # noqa: B018
    from figures.paper import build  # a submodule, not an export

    assert build.__name__ == "figures.paper.build"
    assert {"run_check", "Verdict"} <= set(dir(figures))


def test_bounds_mentions_its_strategies_without_importing_hypothesis():
    assert "bounds.strategies" in bounds.__doc__
    assert "hypothesis" not in fresh_modules("import bounds")
    assert "hypothesis" in fresh_modules("from bounds import strategies")
