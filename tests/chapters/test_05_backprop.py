"""Chapter 5, Backpropagation: worked examples by hand, backward(), numerical and PyTorch checks.

Expected gradients come from hand derivations (in comments), from central
finite differences, or from PyTorch in float64; never from our own engine.
"""
import sys

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gradcheck import (
    POINTS,
    SETTINGS,
    check_against_finite_differences,
    check_operation_against_finite_differences,
    output_of,
    programs,
    run_program,
)

pytestmark = pytest.mark.since("05-backprop")


# ---------------------------------------------------------------- worked examples


def test_the_chapter_expression(mg):
    # L = (a*b + c)*f. Forward: e = -6, d = 4, L = -8.
    # dL/dd = f = -2, dL/df = d = 4; dL/dc = dL/de = dL/dd = -2;
    # dL/da = dL/de * b = 6; dL/db = dL/de * a = -4.
    Value = mg.engine.Value
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    e = a * b
    d = e + c
    L = d * f
    L.backward()
    assert L.data == -8.0
    assert (a.grad, b.grad, c.grad, f.grad) == (6.0, -4.0, -2.0, 4.0)
    assert (d.grad, e.grad, L.grad) == (-2.0, -2.0, 1.0)


def test_the_tanh_neuron(mg):
    # n = x1 w1 + x2 w2 + b = -6 + 0 + 6.8813735870195432 = 0.88137... = atanh(1/sqrt 2),
    # o = tanh(n) = 1/sqrt(2); do/dn = 1 - o^2 = 1/2;
    # do/dx1 = w1/2 = -1.5, do/dw1 = x1/2 = 1, do/dx2 = w2/2 = 0.5, do/dw2 = x2/2 = 0.
    Value = mg.engine.Value
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    assert o.data == pytest.approx(0.7071067811865476, abs=1e-12)
    assert x1.grad == pytest.approx(-1.5, abs=1e-12)
    assert w1.grad == pytest.approx(1.0, abs=1e-12)
    assert x2.grad == pytest.approx(0.5, abs=1e-12)
    assert w2.grad == 0.0
    assert b.grad == pytest.approx(0.5, abs=1e-12)


def test_fan_out_sums_the_paths(mg):
    # b = a + a = 2a: db/da = 1 + 1 = 2
    a = mg.engine.Value(3.0)
    b = a + a
    b.backward()
    assert a.grad == 2.0


def test_a_value_reached_along_two_paths(mg):
    # f = (a*b)*(a+b), a = -2, b = 3: f = -6 * 1 = -6.
    # df/da = b*(a+b) + a*b*1 = 3 - 6 = -3; df/db = a*(a+b) + a*b = -2 - 6 = -8.
    Value = mg.engine.Value
    a, b = Value(-2.0), Value(3.0)
    f = (a * b) * (a + b)
    f.backward()
    assert (f.data, a.grad, b.grad) == (-6.0, -3.0, -8.0)


def test_subtraction_negation_and_reflected_forms_by_hand(mg):
    Value = mg.engine.Value
    # a - b: d/da = 1, d/db = -1
    a, b = Value(5.0), Value(2.0)
    d = a - b
    d.backward()
    assert (d.data, a.grad, b.grad) == (3.0, 1.0, -1.0)
    # -a: d/da = -1
    a = Value(5.0)
    n = -a
    n.backward()
    assert (n.data, a.grad) == (-5.0, -1.0)
    # 3 * a + 2: d/da = 3; a - 4 (number on the right): d/da = 1
    a = Value(5.0)
    r = 3 * a + 2
    r.backward()
    assert (r.data, a.grad) == (17.0, 3.0)
    a = Value(5.0)
    (a - 4).backward()
    assert a.grad == 1.0


def test_power_by_hand_through_backward(mg):
    # (x^2 + 1)^-1 at x = 1: value 1/2; d/dx = -(x^2 + 1)^-2 * 2x = -1/4 * 2 = -0.5
    x = mg.engine.Value(1.0)
    y = (x**2 + 1) ** -1
    y.backward()
    assert (y.data, x.grad) == (0.5, -0.5)


def test_backward_seeds_one_and_leaves_have_grads_of_the_right_type(mg):
    Value = mg.engine.Value
    x = Value(5.0)
    x.backward()
    assert x.grad == 1.0 and type(x.grad) is float  # d x/d x
    # y = x*w + 3 with integer leaves x = 5, w = 2, and a leaf u that y does not use.
    # By hand: dy/dy = 1, dy/dx = w = 2, dy/dw = x = 5, dy/du = 0 (u's grad is never touched).
    x, w, u = Value(5), Value(2), Value(7)
    y = x * w + 3
    y.backward()
    grads = {"y": y.grad, "x": x.grad, "w": w.grad, "u": u.grad}
    assert grads == {"y": 1.0, "x": 2.0, "w": 5.0, "u": 0.0}
    assert all(type(grad) is float for grad in grads.values()), grads


def test_gradients_accumulate_across_backward_calls(mg):
    # documented in backward's docstring: reset grads between calls
    Value = mg.engine.Value
    a = Value(2.0)
    y = a * 3
    y.backward()
    y.backward()
    assert a.grad == 6.0  # 3 + 3


def test_integer_grad_set_by_user_is_coped_with(mg):
    Value = mg.engine.Value
    a = Value(2.0)
    a.grad = 0  # an int, as in the chapter 6 loop
    (a * a).backward()
    assert a.grad == 4.0 and type(a.grad) is float  # d a^2/da = 2a


def test_each_rule_runs_exactly_once_in_a_diamond(mg):
    # y = s * s with s = x + 1: dy/dx = 2 s = 2 * 4 = 8. A rule run twice would double part of it.
    Value = mg.engine.Value
    x = Value(3.0)
    s = x + 1
    y = s * s
    y.backward()
    assert (s.grad, x.grad) == (8.0, 8.0)


@pytest.mark.engine_only
def test_backward_of_a_very_deep_chain_at_the_default_recursion_limit(mg):
    assert sys.getrecursionlimit() <= 10_000  # nothing raised it behind our back
    Value = mg.engine.Value
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()  # d(x + 100000)/dx = 1
    assert y.data == 100_001.0 and x.grad == 1.0


@pytest.mark.engine_only
def test_deep_multiplication_chain(mg):
    # y = x * (1.0001 * 1/1.0001)^10000: dy/dx = the product of the factors, 1 up to rounding
    Value = mg.engine.Value
    x = Value(1.0)
    y = x
    for i in range(20_000):
        y = y * (1.0001 if i % 2 else 1 / 1.0001)
    y.backward()
    assert x.grad == pytest.approx(1.0, rel=1e-9)


# ---------------------------------------------------------------- numerical checks


smooth = st.floats(-5, 5, allow_nan=False)
away_from_zero = st.one_of(st.floats(-5, -0.2), st.floats(0.2, 5))
positive = st.floats(0.1, 10)

# name -> (function, strategies for its arguments), for the operations chapters 4-5 define
UNARY_AND_BINARY = {
    "add": (lambda a, b: a + b, [smooth, smooth]),
    "mul": (lambda a, b: a * b, [smooth, smooth]),
    "sub": (lambda a, b: a - b, [smooth, smooth]),
    "neg": (lambda a: -a, [smooth]),
    "radd": (lambda a: 2.5 + a, [smooth]),
    "rmul": (lambda a: -1.5 * a, [smooth]),
    "square": (lambda a: a**2, [smooth]),
    "cube": (lambda a: a**3, [smooth]),
    "sqrt": (lambda a: a**0.5, [positive]),
    "reciprocal": (lambda a: a**-1, [away_from_zero]),
    "inverse square": (lambda a: a**-2.0, [away_from_zero]),
    "tanh": (lambda a: a.tanh(), [st.floats(-4, 4)]),
}


@pytest.mark.parametrize("name", sorted(UNARY_AND_BINARY))
def test_each_operation_matches_finite_differences(mg, name):
    fn, strategies = UNARY_AND_BINARY[name]
    check_operation_against_finite_differences(mg, fn, strategies, SETTINGS)


# A random expression: a list of steps, each applying an operation to earlier nodes.
# The operations are written so that they work on Values and on torch tensors alike,
# and stay smooth and bounded for any inputs (no kinks, no domain edges).
GRAPH_OPS = {
    "add": (2, lambda a, b: a + b),
    "mul": (2, lambda a, b: a * b),
    "sub": (2, lambda a, b: a - b),
    "neg": (1, lambda a: -a),
    "tanh": (1, lambda a: a.tanh()),
    "square": (1, lambda a: a**2),
    "affine": (1, lambda a: 0.5 * a + 1),
    "damped": (1, lambda a: a * (1 + a**2) ** -1),
}

steps = programs(GRAPH_OPS)


def largest_value(mg, program, point):
    return max(abs(n.data) for n in run_program(program, [mg.engine.Value(x) for x in point], GRAPH_OPS))


@SETTINGS
@given(program=steps, point=POINTS)
def test_random_graphs_match_finite_differences(mg, program, point):
    assume(largest_value(mg, program, point) < 1e4)
    fn = lambda *xs: output_of(run_program(program, xs, GRAPH_OPS))  # noqa: E731
    check_against_finite_differences(mg, fn, point, rel=1e-4, abs_=1e-5)


# ---------------------------------------------------------------- PyTorch in float64


def torch_grads(torch, fn, point):
    inputs = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    out = fn(*inputs)
    out.backward()
    return out.item(), [t.grad.item() if t.grad is not None else 0.0 for t in inputs]


def engine_grads(mg, fn, point):
    inputs = [mg.engine.Value(x) for x in point]
    out = fn(*inputs)
    out.backward()
    return out.data, [v.grad for v in inputs]


WORKED = {
    "L": (lambda a, b, c, f: (a * b + c) * f, [2.0, -3.0, 10.0, -2.0]),
    "neuron": (lambda x1, x2, w1, w2, b: (x1 * w1 + x2 * w2 + b).tanh(), [2.0, 0.0, -3.0, 1.0, 6.8813735870195432]),
    "two paths": (lambda a, b: (a * b) * (a + b), [-2.0, 3.0]),
    "fan-out": (lambda a: a + a, [3.0]),
}


@pytest.mark.parametrize("name", sorted(WORKED))
def test_worked_examples_agree_with_pytorch(mg, name):
    torch = pytest.importorskip("torch")
    fn, point = WORKED[name]
    ours_out, ours = engine_grads(mg, fn, point)
    theirs_out, theirs = torch_grads(torch, fn, point)
    assert ours_out == pytest.approx(theirs_out, rel=1e-12, abs=1e-12)
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-12)


@SETTINGS
@given(program=steps, point=POINTS)
def test_random_graphs_agree_with_pytorch(mg, program, point):
    torch = pytest.importorskip("torch")
    assume(largest_value(mg, program, point) < 1e6)
    fn = lambda *xs: output_of(run_program(program, xs, GRAPH_OPS))  # noqa: E731
    ours_out, ours = engine_grads(mg, fn, point)
    theirs_out, theirs = torch_grads(torch, fn, point)
    assert ours_out == pytest.approx(theirs_out, rel=1e-9, abs=1e-9)
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- the chapter's exercises


def test_exercise_backprop_by_hand(mg):
    # g = (a+b)(a-b) = a^2 - b^2 at a=3, b=1: g = 8, dg/da = 2a = 6, dg/db = -2b = -2
    Value = mg.engine.Value
    a, b = Value(3.0), Value(1.0)
    g = (a + b) * (a - b)
    g.backward()
    assert (g.data, a.grad, b.grad) == (8.0, 6.0, -2.0)


def test_exercise_wrong_order(mg):
    # Forward order: the rules of e and d run while their grads are 0; only L's rule passes
    # anything: dL/dd = f = -2 and dL/df = d = 4; everything upstream stays 0.
    Value = mg.engine.Value
    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    e = a * b
    d = e + c
    L = d * f
    L.grad = 1.0
    for node in [a, b, e, c, d, f, L]:  # a topological order, not reversed
        node._backward()
    assert (d.grad, f.grad) == (-2.0, 4.0)
    assert (a.grad, b.grad, c.grad, e.grad) == (0.0, 0.0, 0.0, 0.0)
