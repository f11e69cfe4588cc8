"""Issue 18, "what a failure must not lose": Ctrl-C, a figure's files together or not at all,
an output folder that cannot be written (items 10 and 13)."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from figures.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


# --- item 13: Ctrl-C ------------------------------------------------------------------------
def test_ctrl_c_is_one_line_saying_what_was_kept_and_status_130(tmp_path, monkeypatch):
    import figures.power

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures.power, "power_report", interrupted)
    code, out, err = run(["power", "--quick", "--workers=1", "--no-progress", f"--out-dir={tmp_path}"])
    assert code == 130 and out == ""
    assert err == f"hsgd: interrupted; the finished runs in {tmp_path / 'power_runs_quick'} are kept and resume on the next run\n"


def test_ctrl_c_during_a_check_in_a_process_pool_is_one_line_and_130(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: the pool's processes print
    nothing, ``hsgd`` stops them at once and says so in one line (before: 28 lines of traceback)."""
    command = [sys.executable, "-c", "import sys; from figures.cli import main; sys.exit(main())", "check",
               "--steps=2000000", "--seeds=2", "--workers=2", "--no-progress", f"--out-dir={tmp_path / 'out'}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                               start_new_session=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(8)  # imports done, the three runs under way
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert err.decode().splitlines() == ["hsgd: interrupted; nothing was written (hsgd writes files only when "
                                         "they are whole)"]
    assert out == b"" and not (tmp_path / "out").exists()


# --- item 13: a figure's files appear together or not at all --------------------------------
def _figure():
    from figures.plotting import pyplot

    fig = pyplot().figure(figsize=(2, 2))
    fig.gca().plot([0, 1], [1, 0])
    return fig


def test_a_figure_whose_last_write_fails_leaves_none_of_its_files(tmp_path, monkeypatch):
    from figures.io import publish

    replace = os.replace

    def failing_last(src, dst, *args, **kwargs):
        if str(dst).endswith(".json"):  # the last of the three: PNG, PDF, JSON
            raise OSError(28, "No space left on device", str(dst))
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", failing_last)
    with pytest.raises(OSError, match="No space left"):
        publish(_figure(), {"x": 1}, tmp_path / "f9_audit")
    assert list(tmp_path.iterdir()) == []  # no f9_audit.png/.pdf without its .json, no temp file


def test_a_figure_interrupted_while_rendering_leaves_none_of_its_files(tmp_path, monkeypatch):
    import figures.io

    render = figures.io.figure_bytes

    def interrupted_at_pdf(fig, fmt):
        if fmt == "pdf":
            raise KeyboardInterrupt
        return render(fig, fmt)

    monkeypatch.setattr(figures.io, "figure_bytes", interrupted_at_pdf)
    with pytest.raises(KeyboardInterrupt):
        figures.io.publish(_figure(), {"x": 1}, tmp_path / "f9_audit")
    assert list(tmp_path.iterdir()) == []


def test_a_published_figure_has_all_three_files(tmp_path):
    from figures.io import publish

    paths = publish(_figure(), {"x": float("inf")}, tmp_path / "f1")
    assert [p.name for p in paths] == ["f1.png", "f1.pdf", "f1.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f1.json", "f1.pdf", "f1.png"]
