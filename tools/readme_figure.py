#!/usr/bin/env python3
"""Draw the README's picture, docs/graph.svg: chapter 5's worked example L = (a*b + c)*f after backward().

Run `make readme-figure` after changing the engine or the drawing.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from micrograd.engine import Value  # noqa: E402
from micrograd.viz import draw_dot  # noqa: E402

if __name__ == "__main__":
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    L = (a * b + c) * f
    L.backward()
    graph = draw_dot(L, names={a: "a", b: "b", c: "c", f: "f", L: "L"})
    (ROOT / "docs" / "graph.svg").write_bytes(graph.pipe(format="svg"))
    print("wrote docs/graph.svg")
