"""tools/bench.py: its data, its graph counting and its report (not its timings)."""
import math
from pathlib import Path

import pytest

import bench  # tools/bench.py (pyproject.toml puts tools/ on the path)

ROOT = Path(__file__).resolve().parents[2]


def test_moons_are_two_noisy_half_circles_with_balanced_labels():
    X, y = bench.make_moons(n=100, noise=0.0)
    assert len(X) == len(y) == 100
    assert y.count(-1.0) == y.count(1.0) == 50
    for (a, b), label in zip(X, y):
        if label < 0:  # upper moon: (cos t, sin t), on the unit circle, above the axis
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower moon: (1 - cos t, 1/2 - sin t), on the unit circle around (1, 1/2)
            assert math.hypot(a - 1.0, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_moons_are_reproducible_and_depend_on_the_seed():
    assert bench.make_moons(seed=3) == bench.make_moons(seed=3)
    assert bench.make_moons(seed=3) != bench.make_moons(seed=4)


class Node:
    def __init__(self, *children):
        self._prev = children


def test_graph_nodes_counts_shared_nodes_once_at_any_depth():
    a, b = Node(), Node()
    c = Node(a, b, a)
    assert bench.graph_nodes(Node(c, c, b)) == 4  # a, b, c and the root
    deep = Node()
    for _ in range(50_000):
        deep = Node(deep)
    assert bench.graph_nodes(deep) == 50_001


def test_relative_difference():
    assert bench.relative_difference(1.0, 1.0) == 0.0
    assert bench.relative_difference(2.0, 1.0) == 0.5  # |2 - 1| / 2
    assert bench.relative_difference(0.0, 0.0) == 0.0


def test_the_report_names_each_measure_and_the_verdict():
    side = {"seconds_per_step": 0.5, "nodes_per_step": 1000, "us_per_node": 500.0, "bytes_per_node": 100.0,
            "graph_bytes": 1e5, "peak_bytes": 2e5, "losses": [1.0]}
    report = {"simple": side, "fast": dict(side, seconds_per_step=0.01), "speedup": 50.0, "repeat": 3,
              "slow_steps": 2, "steps": 20, "compared_steps": 2, "worst_relative_difference": 0.0,
              "losses_agree": True}
    text = bench.format_report(report)
    for phrase in ("seconds per step", "graph nodes per step", "microseconds per node", "bytes per node",
                   "peak memory", "speed-up: 50.0x", "agree"):
        assert phrase in text
    assert "chapter 7 1, fast 19" in text  # steps timed after the first of each round
    assert "DISAGREE" in bench.format_report(dict(report, losses_agree=False))


def test_a_round_needs_a_step_to_time_after_the_first(capsys):
    assert bench.at_least_two("2") == 2
    for bad in ("1", "0", "two"):
        with pytest.raises(SystemExit):
            bench.main(["--steps", bad])
        assert "--steps" in capsys.readouterr().err


def test_a_snapshot_is_the_book_up_to_a_chapter(tmp_path):
    folder = bench.snapshot("book/07-operations.md", tmp_path / "seven")
    package = bench.load_package(folder)
    assert Path(package.engine.__file__).resolve().is_relative_to(folder.resolve())
    assert not hasattr(package.engine.Value, "weighted_sum")  # chapter 8's addition is not there yet
    assert hasattr(bench.load_package(ROOT).engine.Value, "weighted_sum")


def test_the_smallest_run_overrides_the_arguments(monkeypatch, capsys):
    # tests/chapters/test_cells.py runs chapter 8's cells with it: one round of two steps each
    seen = {}

    def compare(simple, fast, steps, slow_steps, repeat):
        seen.update(steps=steps, slow_steps=slow_steps, repeat=repeat)
        return {"speedup": 1.0}

    monkeypatch.setattr(bench, "snapshot", lambda chapter, out: out)
    monkeypatch.setattr(bench, "compare", compare)
    monkeypatch.setenv(bench.SMALLEST, "1")
    assert bench.main(["--steps", "50", "--slow-steps", "10", "--repeat", "3", "--json"]) == 0
    assert seen == {"steps": 2, "slow_steps": 2, "repeat": 1}
    monkeypatch.delenv(bench.SMALLEST)
    bench.main(["--steps", "50", "--slow-steps", "10", "--repeat", "3", "--json"])
    assert seen == {"steps": 50, "slow_steps": 10, "repeat": 3}
    assert capsys.readouterr().out.count("speedup") == 2
