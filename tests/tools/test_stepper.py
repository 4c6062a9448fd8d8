"""The backward stepper's recording (tools/static/stepper.py) on chapter 5's package, as the book has it and broken.

The graph is chapter 5's fan-out example g = (a * b) * (a + b) at a = -2, b = 3, with p = a * b
and s = a + b. Every expected number is derived by hand in the comments, not by the engine.
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "static"))
import stepper  # noqa: E402

import tangle  # noqa: E402
from literate.expand import tangle_pieces  # noqa: E402

CHAPTER = "book/05-backprop.md"
CELL = """\
a, b = Value(-2.0), Value(3.0)
p, s = a * b, a + b
g = p * s
g.backward()
"""


def engine(tmp_path: Path, edit=lambda piece: piece["text"]):
    """Chapter 5's micrograd.engine, tangled from the chunks with edit(piece) as each piece's text."""
    pieces, chapters = tangle.pieces(ROOT), tangle.read_toc(ROOT)
    names = sorted({p["name"] for p in pieces})  # every chunk of the book: later ones are referred to already
    upto = chapters[: chapters.index(CHAPTER) + 1]
    files = tangle_pieces([dict(p, text=edit(p)) for p in pieces if p["chapter"] in upto], chapters, known=names)
    path = tmp_path / "micrograd" / "engine.py"
    path.parent.mkdir(parents=True)
    path.write_text(files["micrograd/engine.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location(f"stepped_engine_{tmp_path.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fan_out(Value):
    a, b = Value(-2.0), Value(3.0)
    p, s = a * b, a + b
    g = p * s
    return g, {id(a): "a", id(b): "b", id(p): "p", id(s): "s", id(g): "g"}


def steps(recording) -> list[tuple]:
    """Each step as (whose rule, or None for backward itself; {name: grad}; flagged?)."""
    names = [node["name"] for node in recording["nodes"]]
    return [(None if step["node"] is None else names[step["node"]], dict(zip(names, step["grads"])),
             step["flag"] is not None) for step in recording["steps"]]


def grads(g=0.0, p=0.0, s=0.0, a=0.0, b=0.0) -> dict:
    return {"g": g, "p": p, "s": s, "a": a, "b": b}


def test_the_books_backward_recorded_step_by_step(tmp_path):
    g, names = fan_out(engine(tmp_path).Value)
    recording = stepper.record(g, g.backward, names)
    assert [node["name"] for node in recording["nodes"]] == ["g", "p", "s", "a", "b"]
    assert [node["children"] for node in recording["nodes"]] == [[1, 2], [3, 4], [3, 4], [], []]
    # By hand. backward sets dg/dg = 1. g = p s: p gets s = 1, s gets p = -6. p = a b: a gets b * 1 = 3,
    # b gets a * 1 = -2. s = a + b: a and b each get -6 more: a = -3, b = -8. The leaves pass nothing on.
    # The depth-first search of «backward: topological order» appends b, a, s, p, g: reversed, g p s a b.
    assert steps(recording) == [
        (None, grads(), False),
        (None, grads(g=1), False),
        ("g", grads(g=1, p=1, s=-6), False),
        ("p", grads(g=1, p=1, s=-6, a=3, b=-2), False),
        ("s", grads(g=1, p=1, s=-6, a=-3, b=-8), False),
        ("a", grads(g=1, p=1, s=-6, a=-3, b=-8), False),
        ("b", grads(g=1, p=1, s=-6, a=-3, b=-8), False),
    ]
    assert recording["never"] == []


def test_the_rules_are_put_back(tmp_path):
    g, names = fan_out(engine(tmp_path).Value)
    stepper.record(g, g.backward, names)
    nodes = stepper.graph(g)
    # A second pass, unrecorded. By hand: g is set to 1 again; p and s get their shares again, 2 and -12;
    # then a gets b * 2 + (-12) = -6 more, -9, and b gets a * 2 + (-12) = -16 more, -24 (the rules add).
    g.backward()
    assert [node.grad for node in nodes] == [1, 2, -12, -9, -24]
    assert all("stepper" not in node._backward.__code__.co_filename for node in nodes)


def test_each_rule_is_located_in_the_book(tmp_path):
    g, names = fan_out(engine(tmp_path).Value)
    recording = stepper.record(g, g.backward, names)
    lines = (ROOT / "book" / "04-value.md").read_text(encoding="utf-8").split("\n")

    def rule_line(operator: str) -> str:  # the `def _backward():` after `def __add__` or `def __mul__`
        start = lines.index(f"def __{operator}__(self, other):")
        return f"book/04-value.md:{lines.index('    def _backward():', start) + 1}"

    assert [node["rule"] for node in recording["nodes"]] == [rule_line("mul"), rule_line("mul"), rule_line("add"),
                                                           None, None]


def test_a_broken_order_is_flagged_where_it_goes_wrong(tmp_path):
    def forwards(piece):  # «Value: backward» walks the order leaves first
        text = piece["text"]
        return text.replace("reversed(order)", "order") if piece["name"] == "Value: backward" else text

    g, names = fan_out(engine(tmp_path, forwards).Value)
    recording = stepper.record(g, g.backward, names)
    # By hand: the walk is b a s p g. The leaves run before p and s, which use them; s and p run before g,
    # which uses both, with grad 0, so they pass on zeros; only g's rule, last, finds a gradient to pass.
    assert steps(recording) == [
        (None, grads(), False),
        (None, grads(g=1), False),
        ("b", grads(g=1), True),
        ("a", grads(g=1), True),
        ("s", grads(g=1), True),
        ("p", grads(g=1), True),
        ("g", grads(g=1, p=1, s=-6), False),
    ]
    flags = [step["flag"] for step in recording["steps"]]
    assert flags[4] == ("too early: g uses s but has not run its rule yet, so not all of s's gradient has arrived")
    assert flags[2].startswith("too early: p, s use b")


def test_an_assigning_sum_rule_loses_a_share(tmp_path):
    def assigning(piece):  # the rule of + in chapter 4 sets the gradients instead of adding to them
        return re.sub(r"(self|other)\.grad \+= out\.grad", r"\1.grad = out.grad", piece["text"])

    g, names = fan_out(engine(tmp_path, assigning).Value)
    recording = stepper.record(g, g.backward, names)
    # By hand: as the book's until s's rule, which sets a and b to -6, dropping p's shares 3 and -2.
    assert steps(recording)[3:5] == [
        ("p", grads(g=1, p=1, s=-6, a=3, b=-2), False),
        ("s", grads(g=1, p=1, s=-6, a=-6, b=-6), False),
    ]


def test_rules_that_never_run_or_run_twice(tmp_path):
    g, names = fan_out(engine(tmp_path).Value)
    assert stepper.record(g, lambda: None, names)["never"] == ["g", "p", "s"]
    twice = stepper.record(g, lambda: (g.backward(), g.backward()), names)
    assert [step["flag"] for step in twice["steps"]][-5:] == [
        f"{name}'s rule runs a second time: it passes its gradient on twice" for name in "gpsab"]


def test_a_graph_too_big_to_step_through_is_refused(tmp_path):
    Value = engine(tmp_path).Value
    y = Value(0.0)
    for _ in range(stepper.MAX_NODES):  # each + adds two nodes: the sum and the leaf 1.0
        y = y + 1.0
    with pytest.raises(ValueError, match=f"the graph has {2 * stepper.MAX_NODES + 1} nodes"):
        stepper.record(y, y.backward)


def test_unnamed_nodes_are_named_by_how_they_were_made(tmp_path):
    Value = engine(tmp_path).Value
    a = Value(2.0)
    y = (a * a + 1).tanh()
    recording = stepper.record(y, y.backward, {id(a): "a"})
    assert [node["name"] for node in recording["nodes"]] == ["tanh(((a * a) + 1))", "((a * a) + 1)", "(a * a)", "1",
                                                           "a"]


def test_a_cell_is_recorded_on_the_final_package():
    """record_cell runs the cell again on the book's final package (chapter 8's engine calls node._rule)."""
    import json

    from micrograd.engine import Value

    namespace = {"Value": Value}
    recording = json.loads(stepper.record_cell(CELL + 'print("not in the recording")', namespace))
    recorded = steps(recording)  # chapter 8's walk skips the leaves: only g, p and s have steps
    assert sorted(name for name, _, _ in recorded if name) == ["g", "p", "s"]
    assert recorded[-1][1] == grads(g=1, p=1, s=-6, a=-3, b=-8)  # the same hand-derived grads as chapter 5's
    assert not any(flagged for *_, flagged in recorded)
    assert namespace["a"].grad == -3 and Value.backward.__module__ == "micrograd.engine"
    with pytest.raises(ValueError, match="does not call backward"):
        stepper.record_cell("x = Value(1.0)", namespace)
