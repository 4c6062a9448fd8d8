"""Appendix C, the command line: `python -m micrograd demo` and `moons`."""
import math
import os
import random
import subprocess
import sys

import pytest

from command_line import run_cli

pytestmark = pytest.mark.since("a3-command-line")


DEMO_DATA = [((2.0, 3.0), 1.0), ((1.0, -1.0), -1.0)]  # the demo's two examples, book/a3-command-line.md


def loss_and_gradient(w, b):
    """The demo's loss, the sum of (tanh(w . x + b) - y)**2, and its gradient, derived by hand in floats.

    With t = tanh(z): d(t - y)**2 / dz = 2 (t - y) (1 - t**2), and dz/dw_j = x_j, dz/db = 1.
    """
    loss, grad_w, grad_b = 0.0, [0.0] * len(w), 0.0
    for x, y in DEMO_DATA:
        t = math.tanh(sum(wj * xj for wj, xj in zip(w, x)) + b)
        loss += (t - y) ** 2
        dz = 2 * (t - y) * (1 - t * t)
        grad_w = [g + dz * xj for g, xj in zip(grad_w, x)]
        grad_b += dz
    return loss, grad_w, grad_b


def initial_weights(seed):
    """What --seed means: the weights drawn uniformly from [-1, 1] after seeding Python's random; the bias 0."""
    draw = random.Random(seed)
    return [draw.uniform(-1, 1), draw.uniform(-1, 1)], 0.0


def hand_trained_losses(epochs, lr, seed):
    """The loss printed at each epoch, before that epoch's step p -= lr * dloss/dp."""
    w, b = initial_weights(seed)
    losses = []
    for _ in range(epochs):
        loss, grad_w, grad_b = loss_and_gradient(w, b)
        losses.append(loss)
        w, b = [wj - lr * g for wj, g in zip(w, grad_w)], b - lr * grad_b
    return losses


def printed_losses(result):
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split()[:2] for line in lines] == [["epoch", str(i)] for i in range(len(lines))]
    return [float(line.split()[-1]) for line in lines]


def test_cli_demo_trains_with_its_defaults_20_epochs_lr_0_1_seed_0(mg):
    losses = printed_losses(run_cli(mg, "demo"))
    assert losses == pytest.approx(hand_trained_losses(20, 0.1, 0), abs=1e-6)  # printed to 6 decimals
    assert losses[-1] < losses[0] / 20


@pytest.mark.parametrize("seed, lr, epochs", [(5, 0.05, 3), (1, 0.2, 6), (123, 0.01, 2)])
def test_cli_demo_options_change_the_run_as_derived_by_hand(mg, seed, lr, epochs):
    result = run_cli(mg, "demo", "--epochs", str(epochs), "--seed", str(seed), "--lr", str(lr))
    assert printed_losses(result) == pytest.approx(hand_trained_losses(epochs, lr, seed), abs=1e-6)


def test_cli_demo_seed_picks_the_initial_weights_and_the_same_seed_repeats_the_run(mg):
    first = [printed_losses(run_cli(mg, "demo", "--epochs", "1", "--seed", str(seed)))[0] for seed in range(4)]
    assert len(set(first)) == 4  # four seeds, four starting points
    assert run_cli(mg, "demo", "--seed", "3").stdout == run_cli(mg, "demo", "--seed", "3").stdout


def test_cli_demo_lr_scales_the_first_step(mg):
    # To first order, a step of lr along the gradient g lowers the loss by lr * |g|**2: doubling lr doubles it.
    loss, grad_w, grad_b = loss_and_gradient(*initial_weights(0))
    squared_norm = sum(g * g for g in grad_w) + grad_b ** 2
    drops = {}
    for lr in (0.001, 0.002):
        before, after = printed_losses(run_cli(mg, "demo", "--epochs", "2", "--lr", str(lr)))
        assert before == pytest.approx(loss, abs=1e-6)  # the rate does not touch the starting point
        drops[lr] = before - after
        assert drops[lr] == pytest.approx(lr * squared_norm, rel=0.02)
    assert drops[0.002] / drops[0.001] == pytest.approx(2, rel=0.02)


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
