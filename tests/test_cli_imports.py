"""``hsgd --help`` is fast because it imports nothing heavy: only the command being run is loaded.

Not a timing test: what is asserted is which modules a fresh interpreter has imported.
"""

import json
import subprocess
import sys

import pytest

from figures.cli import COMMANDS, build_parser, main

HEAVY = ("sympy", "scipy", "matplotlib", "sklearn")


def _imported_after(argv):
    """Run ``main(argv)`` in a fresh interpreter; its exit status and which HEAVY modules it imported."""
    code = ("import json, sys, contextlib, io\n"
            "from figures.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    status = main({argv!r})\n"
            f"print(json.dumps([status, [m for m in {HEAVY!r} if m in sys.modules]]))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    status, heavy = json.loads(out.splitlines()[-1])
    return status, heavy


@pytest.mark.parametrize("argv", [["--help"], ["figures", "--help"], ["power", "--help"]])
def test_help_imports_no_sympy_scipy_matplotlib_or_sklearn(argv):
    assert _imported_after(argv) == (0, [])


def test_check_help_loads_no_plotting_and_a_run_does():
    status, heavy = _imported_after(["check", "--help"])
    assert status == 0 and "matplotlib" not in heavy and "sklearn" not in heavy
    assert "scipy" not in heavy  # scipy is imported where it is used (brentq, minimize, stats), not at import
    assert "sympy" in heavy  # the options come from figures.cli.arguments, which loads the problems and bounds


def test_the_light_parser_lists_every_command_with_the_help_its_module_gives():
    light, full = build_parser(None), build_parser()
    (light_cmds,) = [a for a in light._actions if a.dest == "command"]
    (full_cmds,) = [a for a in full._actions if a.dest == "command"]
    assert list(light_cmds.choices) == list(full_cmds.choices) == [name for name, _, _ in COMMANDS]
    helps = {a.dest: a.help for a in full_cmds._choices_actions}
    assert helps == {name: help_text for name, _, help_text in COMMANDS}  # COMMANDS cannot drift from the modules


def test_only_the_named_command_is_complete():
    parser = build_parser("figures")
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    assert "--workers" in commands.choices["figures"]._option_string_actions
    assert "--workers" not in commands.choices["check"]._option_string_actions  # listed, not loaded


def test_an_unknown_command_is_one_line_naming_the_commands(capsys):
    assert main(["bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'bogus'" in err and "'figures'" in err


def test_the_theorem_option_names_every_registered_theorem():
    """The light --theorem help (no sympy) cannot drift from the registry."""
    from bounds.theorems import REGISTRY
    from figures.cli.options import add_theorem_option
    import argparse

    parser = argparse.ArgumentParser()
    add_theorem_option(parser)
    text = parser.format_help()
    assert all(name in text for name in REGISTRY)
