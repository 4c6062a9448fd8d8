#!/usr/bin/env python3
"""Time the book's engine against its own simpler self, on the classic demo.

The workload is micrograd's two-moons demo: 100 points, ``MLP(2, [16, 16, 1])``
(ReLU hidden layers, linear output), the max-margin loss
``mean(relu(1 - y_i * score_i))`` plus ``1e-4 * sum(p * p)``, full-batch SGD
with the learning rate ``1 - 0.9 * k / 100`` at step k. Two packages run it:

* the *fast* engine: the committed ``micrograd/`` (or ``--fast DIR``);
* the *simple* engine: the book's own package as it stands at the end of
  chapter 7, tangled into a temporary folder (``tools/tangle.py --through``),
  so nothing outside the repository is needed.

Each engine runs in its own subprocess (the two packages are both called
``micrograd``), alternating simple, fast, simple, fast... for ``--repeat``
rounds so that a busy machine slows both alike. Each round's first step is
timed apart and left out of the time per step: it starts from an empty heap, and for the simple engine, whose dropped
graphs wait for the cycle collector, it is markedly cheaper than the steps that
follow. The report gives CPU seconds per training step (median over the
rounds), graph nodes per step,
microseconds per node, bytes per node and in all of one step's graph
(tracemalloc), the peak memory of one step, the speed-up, and whether the two
engines' losses agree, step by step, within 1e-9 relative.

Usage::

    python tools/bench.py                      # 5 rounds, 6 simple steps, 100 fast steps
    python tools/bench.py --slow-steps 2 --steps 20 --repeat 3
    python tools/bench.py --slow-steps 100     # compare the losses over the whole run

With the environment variable MICROGRAD_BENCH_SMALLEST=1 it makes its smallest
run whatever the arguments say (one round of two steps each), for the tests that
execute the book's cells: they check the code, not the timings.

This is a benchmark that prints ratios, not a test: it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import snapshots  # noqa: E402  (tools/snapshots.py, beside this file)

ROOT = Path(__file__).resolve().parent.parent
SIMPLE_CHAPTER = "book/07-operations.md"
MODEL_SEED = 1337
DATA_SEED = 42
TOLERANCE = 1e-9
SMALLEST = "MICROGRAD_BENCH_SMALLEST"


# ---------------------------------------------------------------- the workload


def make_moons(n: int = 100, noise: float = 0.1, seed: int = DATA_SEED):
    """Two interleaving half circles with Gaussian noise: points X and labels y in {-1, +1}.

    The upper moon is (cos t, sin t), the lower one (1 - cos t, 1/2 - sin t),
    for t evenly spread over [0, pi]; the points alternate between the moons.
    """
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n):
        t = math.pi * (i // 2) / max(1, (n - 1) // 2)
        if i % 2 == 0:
            x0, x1, label = math.cos(t), math.sin(t), -1.0
        else:
            x0, x1, label = 1.0 - math.cos(t), 0.5 - math.sin(t), 1.0
        X.append([x0 + rng.gauss(0.0, noise), x1 + rng.gauss(0.0, noise)])
        y.append(label)
    return X, y


def loss_of(Value, model, X, y):
    """The demo's loss: mean hinge loss on the scores plus a little L2 on the parameters."""
    inputs = [[Value(x) for x in row] for row in X]
    scores = [model(row) for row in inputs]
    margins = [(1 + -label * score).relu() for label, score in zip(y, scores)]
    data_loss = sum(margins) * (1.0 / len(margins))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def new_model(package):
    """The demo's network, its weights drawn from a fixed seed (Neuron uses the global random)."""
    random.seed(MODEL_SEED)
    return package.nn.MLP(2, [16, 16, 1], activation="relu", output_activation="linear")


def zero_grad(model):
    """model.zero_grad(), written out so that it works on any version of the package."""
    for p in model.parameters():
        p.grad = 0.0


def train_step(package, model, X, y, k: int) -> float:
    """One full-batch SGD step; returns the loss before the update."""
    loss = loss_of(package.engine.Value, model, X, y)
    zero_grad(model)
    loss.backward()
    rate = 1.0 - 0.9 * k / 100
    for p in model.parameters():
        p.data -= rate * p.grad
    return loss.data


def graph_nodes(root) -> int:
    """How many distinct nodes the graph under root has (iterative, any depth)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


# ---------------------------------------------------------------- packages


def snapshot(chapter: str = SIMPLE_CHAPTER, out: Path | None = None) -> Path:
    """The package as it stands at the end of chapter (chapter 7's by default): see tools/snapshots.py."""
    return snapshots.snapshot(chapter, out)


load_package = snapshots.load_package


# ---------------------------------------------------------------- measuring one engine


def measure(folder: Path, steps: int, memory: bool = True) -> dict:
    """Run the demo for `steps` steps on the package in folder: times, losses, and (once) graph sizes."""
    package = load_package(folder)
    X, y = make_moons()
    result = {}
    if memory:
        # The first graph this process builds, so that no freed objects are recycled unseen.
        model = new_model(package)
        tracemalloc.start()
        loss = loss_of(package.engine.Value, model, X, y)
        graph_bytes, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        zero_grad(model)
        loss.backward()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["nodes"] = graph_nodes(loss)
        result["graph_bytes"] = graph_bytes
        result["bytes_per_node"] = graph_bytes / result["nodes"]
        result["peak_bytes"] = peak
        del loss
    model = new_model(package)
    start = time.process_time()
    losses = [train_step(package, model, X, y, 0)]  # timed apart: see the module's docstring
    result["first_step_seconds"] = time.process_time() - start
    start = time.process_time()  # CPU time: steadier than the wall clock on a shared machine
    for k in range(1, steps):
        losses.append(train_step(package, model, X, y, k))
    timed = steps - 1
    result["seconds_per_step"] = (time.process_time() - start) / timed if timed else None
    result["losses"] = losses
    return result


def run_worker(folder: Path, steps: int, memory: bool) -> dict:
    """measure() in a fresh interpreter, so that each engine has the process to itself."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(folder), "--steps", str(steps)]
    if not memory:
        command.append("--no-memory")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(simple_folder: Path, fast_folder: Path, steps: int, slow_steps: int, repeat: int) -> dict:
    runs = {"simple": [], "fast": []}
    for round_ in range(repeat):
        runs["simple"].append(run_worker(simple_folder, slow_steps, memory=round_ == 0))
        runs["fast"].append(run_worker(fast_folder, steps, memory=round_ == 0))
    report = {}
    for name, results in runs.items():
        first = results[0]
        seconds = statistics.median(r["seconds_per_step"] for r in results)
        report[name] = {
            "seconds_per_step": seconds,
            "first_step_seconds": statistics.median(r["first_step_seconds"] for r in results),
            "nodes_per_step": first["nodes"],
            "us_per_node": 1e6 * seconds / first["nodes"],
            "bytes_per_node": first["bytes_per_node"],
            "graph_bytes": first["graph_bytes"],
            "peak_bytes": first["peak_bytes"],
            "losses": first["losses"],
        }
    common = min(len(report["simple"]["losses"]), len(report["fast"]["losses"]))
    worst = max(relative_difference(a, b) for a, b in
                zip(report["simple"]["losses"][:common], report["fast"]["losses"][:common]))
    report["speedup"] = report["simple"]["seconds_per_step"] / report["fast"]["seconds_per_step"]
    report["compared_steps"] = common
    report["worst_relative_difference"] = worst
    report["losses_agree"] = worst <= TOLERANCE
    report["fast_total_seconds"] = report["fast"]["seconds_per_step"] * steps
    report["steps"], report["slow_steps"], report["repeat"] = steps, slow_steps, repeat
    return report


def format_report(report: dict) -> str:
    def row(label, fmt, value):
        cells = (format(value(report[name]), fmt) for name in ("simple", "fast"))
        return (label, *cells)

    rows = [
        ("", "chapter 7", "fast"),
        row("CPU seconds per step", ".4f", lambda r: r["seconds_per_step"]),
        row("graph nodes per step", ",", lambda r: r["nodes_per_step"]),
        row("microseconds per node", ".2f", lambda r: r["us_per_node"]),
        row("bytes per node", ".0f", lambda r: r["bytes_per_node"]),
        row("graph of one step (MB)", ".2f", lambda r: r["graph_bytes"] / 1e6),
        row("peak memory of a step (MB)", ".2f", lambda r: r["peak_bytes"] / 1e6),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{label:<{width}}  {a:>12}  {b:>12}" for label, a, b in rows]
    lines.append(f"speed-up: {report['speedup']:.1f}x (median of {report['repeat']} rounds; steps "
                 f"timed a round, after the first: chapter 7 {report['slow_steps'] - 1}, "
                 f"fast {report['steps'] - 1})")
    verdict = "agree" if report["losses_agree"] else "DISAGREE"
    lines.append(f"losses over the first {report['compared_steps']} steps {verdict}: worst relative "
                 f"difference {report['worst_relative_difference']:.1e} (tolerance {TOLERANCE:.0e})")
    return "\n".join(lines)


def at_least_two(text: str) -> int:
    """A number of steps: the first, timed apart, and at least one more."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if number < 2:
        raise argparse.ArgumentTypeError(f"at least 2 (the first step is timed apart), got {number}")
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the fast engine against chapter 7's on the moons demo.")
    parser.add_argument("--steps", type=at_least_two, default=100,
                        help="training steps a round for the final engine (the first timed apart)")
    parser.add_argument("--slow-steps", type=at_least_two, default=6,
                        help="training steps a round for chapter 7's engine (the first timed apart)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the report gives the median")
    parser.add_argument("--fast", metavar="DIR", default=str(ROOT), help="folder holding the fast micrograd/")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--worker", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--no-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if os.environ.get(SMALLEST):
        args.steps, args.slow_steps, args.repeat = 2, 2, 1
    if args.worker:
        json.dump(measure(Path(args.worker), args.steps, memory=not args.no_memory), sys.stdout)
        return 0
    with tempfile.TemporaryDirectory(prefix="micrograd-chapter7-") as simple:
        snapshot(SIMPLE_CHAPTER, Path(simple))
        report = compare(Path(simple), Path(args.fast), args.steps, args.slow_steps, args.repeat)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
