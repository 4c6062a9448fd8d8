"""The exercises' checks: test_<label> checks an answer to the exercise of that label.

``answer`` holds the names the answer defines, beside the chapter's ``Value``: here, what the
book's solution defines (tests/chapters/conftest.py); in the page, what the reader's cells
defined, when the reader presses Check under the cell tagged ``answer`` (tools/live.py).
Expected values are worked out by hand.
"""
import math

import pytest


def test_ex_value_leaves(answer):
    Value = answer.Value
    x, y, w = Value(2.0), Value(-3.0), Value(0.5)
    product = x * y
    out = (product + x) * w  # x is used twice, and is still one leaf
    found = answer.leaves(out)
    assert sorted(map(id, found)) == sorted(map(id, (x, y, w))), "each leaf once, and nothing but leaves"
    assert [id(v) for v in answer.leaves(x)] == [id(x)], "a leaf's only leaf is itself"


def test_ex_backprop_gradcheck(answer):
    engine, numeric = answer.gradient_check(lambda v: v * v * v, 1.5)  # d/dx x^3 = 3 x^2 = 6.75
    assert engine == pytest.approx(6.75, rel=1e-12), "the first number is the gradient from backward()"
    assert numeric == pytest.approx(6.75, rel=1e-6), "the second is the central difference"

    def wrong(v):  # a rule that says d/dx = 0: the forward values are right, the gradient is not
        out = answer.Value(v.data * 2.0, (v,), "double")
        out._backward = lambda: None
        return out

    engine, numeric = answer.gradient_check(wrong, 0.7)
    assert (engine, numeric) == (0.0, pytest.approx(2.0, rel=1e-6)), "backward's gradient, not the true one"
    assert answer.gradient_check(lambda v: v.tanh(), 0.5)[1] == pytest.approx(1 - math.tanh(0.5) ** 2, rel=1e-6)
