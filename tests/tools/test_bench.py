"""tools/bench.py: its data, its graph counting and its report (not its timings)."""
import re
from pathlib import Path

import pytest

import bench  # tools/bench.py (pyproject.toml puts tools/ on the path)

ROOT = Path(__file__).resolve().parents[2]


def test_the_workload_is_chapter_tens_data_set_and_training_step():
    points, labels = bench.moons()
    seed = int(re.search(r"^SEED = (\d+)$", (ROOT / "book/10-classifier.md").read_text(), re.M)[1])
    assert (points, labels) == bench.workload().datasets.make_moons(n_samples=100, noise=0.1, seed=seed)
    package = bench.load_package(ROOT)
    model = bench.new_model(package)
    before = [p.data for p in model.parameters()]
    loss = bench.train_step(model, points[:10], labels[:10], 0)
    assert loss == bench.loss_of(bench.new_model(package), points[:10], labels[:10]).data
    assert [p.data for p in model.parameters()] != before  # the step moved the parameters


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
    def side(seconds, worst):
        return {"steps": 6, "seconds_per_step": seconds, "nodes_per_step": 1000, "bytes_per_node": 100.0,
                "graph_bytes": 1e5, "losses": [1.0], "speedup": seconds / 0.01,
                "worst_relative_difference": worst, "losses_agree": worst <= bench.TOLERANCE}

    report = {"repeat": 3, "packages": {"chapter 7": side(0.5, 0.0), "final": side(0.01, 0.0)}}
    text = bench.format_report(report)
    for phrase in ("ms per step", "final is faster by", "graph nodes per step", "bytes per node",
                   "50.0", "losses of chapter 7 and final agree"):
        assert phrase in text
    report["packages"]["chapter 7"] = side(0.5, 1e-6)
    assert "DISAGREE" in bench.format_report(report)


def test_a_reference_must_hold_a_micrograd_package(tmp_path, capsys):
    with pytest.raises(SystemExit):
        bench.main(["--reference", str(tmp_path)])
    assert "no micrograd/__init__.py" in capsys.readouterr().err


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
