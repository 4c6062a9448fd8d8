"""Appendix C, the command line: `python -m micrograd demo` and `moons`."""
import os
import subprocess
import sys

import pytest

from command_line import run_cli

pytestmark = pytest.mark.since("a3-command-line")


def test_cli_demo_trains_and_prints_each_epoch(mg):
    result = run_cli(mg, "demo")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 20
    losses = [float(line.split()[-1]) for line in lines]
    assert losses[-1] < losses[0] / 20
    assert run_cli(mg, "demo").stdout == result.stdout  # seeded: the same every time


def test_cli_demo_options(mg):
    result = run_cli(mg, "demo", "--epochs", "3", "--seed", "5", "--lr", "0.05")
    assert result.returncode == 0 and len(result.stdout.strip().splitlines()) == 3


def test_cli_help(mg):
    result = run_cli(mg, "--help")
    assert result.returncode == 0 and "demo" in result.stdout and "usage: micrograd" in result.stdout
    result = run_cli(mg, "demo", "--help")
    assert result.returncode == 0 and "--epochs" in result.stdout


@pytest.mark.parametrize("args, message", [
    ((), "required: COMMAND"),
    (("fly",), "invalid choice: 'fly'"),
    (("demo", "--epochs", "0"), "must be at least 1, got 0"),
    (("demo", "--epochs", "many"), "expected a whole number, got 'many'"),
    (("demo", "--lr", "fast"), "invalid float value: 'fast'"),
])
def test_cli_bad_arguments_exit_2_with_a_message(mg, args, message):
    result = run_cli(mg, *args)
    assert result.returncode == 2
    assert message in result.stderr


def test_main_is_callable_with_argv(mg, capsys):
    # mg.command_line is this snapshot's __main__.py, imported as a module (its script guard does not run)
    assert mg.command_line.main(["demo", "--epochs", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_python_dash_m_runs_main(mg):
    # The one real `python -m micrograd`: the other tests call main() in this process (command_line.py).
    env = dict(os.environ, PYTHONPATH=str(mg.folder))
    for args in (["demo", "--epochs", "2"], ["demo", "--epochs", "0"]):
        result = subprocess.run([sys.executable, "-m", "micrograd", *args], capture_output=True, text=True,
                                env=env, cwd=mg.folder, timeout=60)
        in_process = run_cli(mg, *args)
        assert (result.returncode, result.stdout, result.stderr) == (
            in_process.returncode, in_process.stdout, in_process.stderr)
    assert result.returncode == 2 and "must be at least 1" in result.stderr


def test_cli_moons_trains_and_reports(mg):
    result = run_cli(mg, "moons", "--steps", "4", "--samples", "12", "--every", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["2/4", "4/4"]  # not a terminal: every 2nd step
    assert all("loss" in line and "accuracy" in line for line in lines[:-1])
    assert lines[-1].startswith("trained for 4 steps") and "training accuracy" in lines[-1]


@pytest.mark.parametrize("args, complaint", [
    (["--steps", "0"], "--steps"),
    (["--steps", "ten"], "--steps"),
    (["--samples", "1"], "--samples"),
    (["--noise", "-1"], "--noise"),
    (["--noise", "inf"], "--noise"),
    (["--seed", "x"], "--seed"),
    (["--every", "-3"], "--every"),
    (["--unknown"], "unrecognized arguments"),
])
def test_cli_moons_rejects_bad_arguments(mg, args, complaint):
    result = run_cli(mg, "moons", *args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error" in result.stderr and complaint in result.stderr
