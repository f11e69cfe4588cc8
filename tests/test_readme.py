"""The README's promises: its Python example runs and its two set-up commands are the CI's."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_python_examples_run(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(blocks) == 6
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "0.3684" in out  # the value the symbolic example's comment promises
    verdicts = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.startswith(("bound_", "condition_", "empirical_"))}
    assert verdicts["bound_valid"] == "yes" and verdicts["condition_holds"] == "yes"  # the own-objective example
    assert "yes yes" in out.splitlines()  # the weighted kink example: Theorem W holds and orders, exactly


def test_the_own_objective_example_is_as_long_as_the_readme_says():
    block = re.findall(r"```python\n(.*?)```", README, flags=re.S)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    stated = int(re.search(r"(\d+) lines:\n\n```python", README).group(1))
    assert len(lines) == stated


def test_the_printed_check_output_is_what_the_code_prints():
    """The README's copy of `hsgd check`'s table is regenerated from the code, not typed."""
    from figures.checker import run_check

    r = run_check()
    for name in ("local_I", "hsgd", "local_G"):
        row = next(line for line in README.splitlines() if line.startswith(name + " "))
        assert f"{r.empirical[name]['mean']:.5g}" in row and f"{r.bound[name]:.4g}" in row


def test_exactly_two_setup_commands_and_ci_runs_the_test_one():
    commands = re.findall(r"```bash\n(.*?)```", README.split("## Set up")[1].split("##")[0], flags=re.S)
    assert [c.strip() for c in commands] == [
        "pip install -e . && hsgd check",
        'pip install -e ".[test]" && python -m pytest',
    ]
    ci = (ROOT / ".ci" / "run").read_text()
    assert 'pip install --quiet -e ".[test]"' in ci and "python -m pytest" in ci
