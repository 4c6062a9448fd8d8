#!/usr/bin/env python3
"""Time versions of micrograd against each other on the classic demo; prints ratios, asserts nothing.

The workload is chapter 10's: the 100 points of ``micrograd.datasets.make_moons``, an
``MLP(2, [16, 16, 1])`` drawn after ``random.seed(1337)``, and ``micrograd.demo.training_step``,
always the repository's own. The package timed is the parameter: ``final`` (the committed
``micrograd/``, or ``--final DIR``), ``chapter 7`` (the book's package at the end of chapter 7)
and, with ``--reference DIR``, any folder holding a micrograd like the original's. Each runs in
its own subprocess, in turn, for ``--repeat`` rounds, so that a busy machine slows all alike;
each round's first step (from an empty heap) is left out. The report: CPU time per step (median),
graph nodes and bytes per node of one step (tracemalloc), the final package's speed-up, and
whether every package's losses agree with the final one's within 1e-9 relative.
"""
from __future__ import annotations

import argparse
import functools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from snapshots import load_package, snapshot  # noqa: E402  (tools/snapshots.py, beside this file)

ROOT = Path(__file__).resolve().parent.parent
SIMPLE_CHAPTER = "book/07-operations.md"
MODEL_SEED = 1337
DATA_SEED = 1
STEPS = 100  # the learning rate falls over this many steps
TOLERANCE = 1e-9


@functools.cache
def workload():
    """The repository's own package: its data set and its training step."""
    return load_package(ROOT)


def moons():  # the demo's data set, and its model, loss and training step on any package
    return workload().datasets.make_moons(100, 0.1, DATA_SEED)


def new_model(package):
    random.seed(MODEL_SEED)
    return package.nn.MLP(2, [16, 16, 1])


def loss_of(model, points, labels):
    loss, _ = workload().demo.moons_loss(model, points, labels)
    return loss


def train_step(model, points, labels, k: int) -> float:
    """Step k of the demo; the loss before the update."""
    demo = workload().demo
    loss, _ = demo.training_step(model, points, labels, demo.learning_rate(k, STEPS))
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


def measure(folder: Path, steps: int, memory: bool = True) -> dict:
    """Run the demo for `steps` steps on the package in folder: times, losses, and (once) graph sizes."""
    package = load_package(folder)
    points, labels = moons()
    result = {}
    if memory:
        # The first graph this process builds, so that no freed objects are recycled unseen.
        model = new_model(package)
        tracemalloc.start()
        loss = loss_of(model, points, labels)
        result["graph_bytes"], _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["nodes"] = graph_nodes(loss)
        result["bytes_per_node"] = result["graph_bytes"] / result["nodes"]
        del loss
    model = new_model(package)
    losses = [train_step(model, points, labels, 0)]  # left out of the timing: it starts from an empty heap
    start = time.process_time()  # CPU time: steadier than the wall clock on a shared machine
    for k in range(1, steps):
        losses.append(train_step(model, points, labels, k))
    result["seconds_per_step"] = (time.process_time() - start) / (steps - 1)
    result["losses"] = losses
    return result


def run_worker(folder: Path, steps: int, memory: bool) -> dict:
    """measure() in a fresh interpreter, so that each package has the process to itself."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(folder), "--steps", str(steps)]
    if not memory:
        command.append("--no-memory")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(packages: dict[str, tuple[Path, int]], repeat: int) -> dict:
    """packages maps a name to (folder, steps a round); the last one is the final package."""
    runs = {name: [] for name in packages}
    for round_ in range(repeat):
        for name, (folder, steps) in packages.items():
            runs[name].append(run_worker(folder, steps, memory=round_ == 0))
    report = {"repeat": repeat, "packages": {}}
    for name, (first, *_) in runs.items():  # graph sizes and losses from the first round
        first.update(steps=packages[name][1], nodes_per_step=first.pop("nodes"),
                     seconds_per_step=statistics.median(r["seconds_per_step"] for r in runs[name]))
        report["packages"][name] = first
    final = report["packages"][list(packages)[-1]]
    for side in report["packages"].values():
        side["speedup"] = side["seconds_per_step"] / final["seconds_per_step"]
        side["worst_relative_difference"] = max(
            relative_difference(a, b) for a, b in zip(side["losses"], final["losses"]))
        side["losses_agree"] = side["worst_relative_difference"] <= TOLERANCE
    return report


def format_report(report: dict) -> str:
    names = list(report["packages"])
    rows = [("", *names)]
    for label, fmt, key in [("ms per step", ".2f", lambda r: 1e3 * r["seconds_per_step"]),
                            ("final is faster by", ".1f", lambda r: r["speedup"]),
                            ("graph nodes per step", ",", lambda r: r["nodes_per_step"]),
                            ("bytes per node", ".0f", lambda r: r["bytes_per_node"]),
                            ("steps a round", "", lambda r: r["steps"])]:
        rows.append((label, *(format(key(report["packages"][n]), fmt) for n in names)))
    width = max(len(r[0]) for r in rows)
    lines = [f"{r[0]:<{width}}" + "".join(f"  {c:>12}" for c in r[1:]) for r in rows]
    lines.append(f"(median of {report['repeat']} rounds; the first step of each round left out)")
    for name in names[:-1]:
        side = report["packages"][name]
        verdict = "agree" if side["losses_agree"] else "DISAGREE"
        lines.append(f"losses of {name} and {names[-1]} {verdict}: worst relative difference "
                     f"{side['worst_relative_difference']:.1e} (tolerance {TOLERANCE:.0e})")
    return "\n".join(lines)


def at_least_two(text: str) -> int:
    """A number of steps: the first, left out of the timing, and at least one more."""
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"a whole number, at least 2 (the first step is left out), not {text!r}")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time versions of micrograd on the moons demo.")
    parser.add_argument("--steps", type=at_least_two, default=100,
                        help="training steps a round for the final package (the first is not timed)")
    parser.add_argument("--slow-steps", type=at_least_two, default=6,
                        help="training steps a round for chapter 7's package")
    parser.add_argument("--reference", metavar="DIR",
                        help="also time the micrograd/ in DIR (e.g. a checkout of the original)")
    parser.add_argument("--reference-steps", type=at_least_two, default=6,
                        help="training steps a round for the --reference package")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the report gives the median")
    parser.add_argument("--final", metavar="DIR", default=str(ROOT), help="folder holding the final micrograd/")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--worker", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--no-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        json.dump(measure(Path(args.worker), args.steps, memory=not args.no_memory), sys.stdout)
        return 0
    if args.reference and not (Path(args.reference) / "micrograd" / "__init__.py").is_file():
        parser.error(f"--reference {args.reference}: no micrograd/__init__.py there")
    with tempfile.TemporaryDirectory(prefix="micrograd-chapter7-") as simple:
        packages = {"chapter 7": (snapshot(SIMPLE_CHAPTER, Path(simple)), args.slow_steps)}
        if args.reference:
            packages["reference"] = (Path(args.reference), args.reference_steps)
        packages["final"] = (Path(args.final), args.steps)
        report = compare(packages, args.repeat)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
