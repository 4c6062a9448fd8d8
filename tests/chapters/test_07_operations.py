"""Chapter 7, New operations, and checking them: exp, log, division, reflected forms, accumulation.

Expected values come from hand derivations (in comments), central finite
differences, or PyTorch in float64.
"""
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from gradcheck import (
    POINTS,
    SETTINGS,
    arguments,
    check_against_finite_differences,
    check_operation_against_finite_differences,
    local_grads,
    output_of,
    programs,
    run_program,
)

pytestmark = pytest.mark.since("07-operations")


def grads_of(fn, *values):
    out = fn(*values)
    out.backward()
    return out.data, [v.grad for v in values]


# ---------------------------------------------------------------- fan-out and accumulation


def test_a_plus_a(mg):
    # b = a + a = 2a, db/da = 2: both operands' contributions must be added
    a = mg.engine.Value(-1.5)
    b = a + a
    b.backward()
    assert b.data == -3.0 and a.grad == 2.0


def test_a_times_a(mg):
    # a * a = a^2, d/da = 2a = 6 at a = 3: the product rule's two terms a + a
    a = mg.engine.Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0


def test_two_paths(mg):
    # f = (a*b)*(a+b) at a = -2, b = 3: df/da = b(a+b) + ab = 3 - 6 = -3, df/db = a(a+b) + ab = -8
    Value = mg.engine.Value
    f, (da, db) = grads_of(lambda a, b: (a * b) * (a + b), Value(-2.0), Value(3.0))
    assert (f, da, db) == (-6.0, -3.0, -8.0)


def test_one_input_feeding_many_neurons(mg):
    # y = sum_k w_k * x: dy/dx = sum_k w_k = 0.5 - 1 + 2 = 1.5
    Value = mg.engine.Value
    x = Value(4.0)
    y = sum(w * x for w in (0.5, -1.0, 2.0))
    y.backward()
    assert x.grad == 1.5


# ---------------------------------------------------------------- the new operations by hand


def test_exp(mg):
    Value = mg.engine.Value
    # exp(0) = 1, d exp/dx = exp(x) = 1; at ln 2: exp = 2, derivative 2
    assert Value(0.0).exp().data == 1.0 and local_grads(Value(0.0).exp()) == [1.0]
    e = Value(math.log(2.0)).exp()
    assert e.data == pytest.approx(2.0, rel=1e-15) and local_grads(e) == [pytest.approx(2.0, rel=1e-15)]


def test_exp_overflow_is_reported(mg):
    with pytest.raises(OverflowError):
        mg.engine.Value(1000.0).exp()


def test_log(mg):
    Value = mg.engine.Value
    # log(e) = 1, d log/dx = 1/x = 1/e; log(4) = 2 log 2, derivative 1/4
    v = Value(math.e).log()
    assert v.data == 1.0 and local_grads(v) == [pytest.approx(1 / math.e, rel=1e-15)]
    assert local_grads(Value(4.0).log()) == [0.25]


@pytest.mark.parametrize("x", [0.0, -0.0, -1.0, -1e-300])
def test_log_of_a_non_positive_number_is_a_value_error(mg, x):
    with pytest.raises(ValueError, match="log is defined only for positive numbers"):
        mg.engine.Value(x).log()


def test_division(mg):
    Value = mg.engine.Value
    # a/b: d/da = 1/b, d/db = -a/b^2. a = 3, b = -2: 1/b = -0.5, -a/b^2 = -0.75
    q, (da, db) = grads_of(lambda a, b: a / b, Value(3.0), Value(-2.0))
    assert (q, da, db) == (-1.5, -0.5, -0.75)


def test_reflected_subtraction_and_division(mg):
    Value = mg.engine.Value
    # 1 - v: value -2 at v = 3, derivative -1
    r, (dv,) = grads_of(lambda v: 1 - v, Value(3.0))
    assert (r, dv) == (-2.0, -1.0)
    # 1 / v = v^-1: value 0.25 at v = 4, derivative -1/v^2 = -1/16
    r, (dv,) = grads_of(lambda v: 1 / v, Value(4.0))
    assert (r, dv) == (0.25, -0.0625)
    # 2 * v and 2 + v keep working
    assert (2 * Value(3.0)).data == 6.0 and (2 + Value(3.0)).data == 5.0


@pytest.mark.parametrize("divide", [
    lambda V: V(1.0) / 0,
    lambda V: V(1.0) / 0.0,
    lambda V: V(1.0) / V(0.0),
    lambda V: 1 / V(0.0),
    lambda V: V(0.0) / V(-0.0),
])
def test_division_by_zero(mg, divide):
    with pytest.raises(ZeroDivisionError, match="by zero"):
        divide(mg.engine.Value)


def test_bad_operands_for_the_new_operations(mg):
    Value = mg.engine.Value
    with pytest.raises(TypeError):
        Value(1.0) / "2"
    with pytest.raises(TypeError):
        None - Value(1.0)
    with pytest.raises(TypeError, match="exponent"):
        Value(2.0) ** Value(2.0)


# ---------------------------------------------------------------- numerical checks of every operation


smooth = st.floats(-4, 4)
nonzero = st.one_of(st.floats(-4, -0.2), st.floats(0.2, 4))
positive = st.floats(0.05, 20)

EVERY_OPERATION = {
    "add": (lambda a, b: a + b, [smooth, smooth]),
    "mul": (lambda a, b: a * b, [smooth, smooth]),
    "sub": (lambda a, b: a - b, [smooth, smooth]),
    "div": (lambda a, b: a / b, [smooth, nonzero]),
    "neg": (lambda a: -a, [smooth]),
    "radd": (lambda a: 3 + a, [smooth]),
    "rmul": (lambda a: 3 * a, [smooth]),
    "rsub": (lambda a: 1 - a, [smooth]),
    "rtruediv": (lambda a: 1 / a, [nonzero]),
    "pow int": (lambda a: a**3, [smooth]),
    "pow negative": (lambda a: a**-2, [nonzero]),
    "pow float": (lambda a: a**1.5, [positive]),
    "tanh": (lambda a: a.tanh(), [smooth]),
    "relu": (lambda a: a.relu(), [nonzero]),  # away from the kink at 0
    "sigmoid": (lambda a: a.sigmoid(), [st.floats(-20, 20)]),
    "exp": (lambda a: a.exp(), [smooth]),
    "log": (lambda a: a.log(), [positive]),
}


@pytest.mark.parametrize("name", sorted(EVERY_OPERATION))
def test_every_operation_matches_finite_differences(mg, name):
    fn, strategies = EVERY_OPERATION[name]
    check_operation_against_finite_differences(mg, fn, strategies, SETTINGS)


# Random expressions over every operation. Each operation is written so that it works on
# Values and torch tensors alike and is defined everywhere (log and division get positive
# arguments, exp a bounded one); relu's kink is avoided with assume().
GRAPH_OPS = {
    "add": (2, lambda a, b: a + b),
    "mul": (2, lambda a, b: a * b),
    "sub": (2, lambda a, b: a - b),
    "div": (2, lambda a, b: a / (1 + b * b)),
    "rsub": (1, lambda a: 1 - a),
    "rdiv": (1, lambda a: 2 / (1.5 + a.tanh())),
    "neg": (1, lambda a: -a),
    "tanh": (1, lambda a: a.tanh()),
    "sigmoid": (1, lambda a: a.sigmoid()),
    "relu": (1, lambda a: a.relu()),
    "exp": (1, lambda a: a.tanh().exp()),
    "log": (1, lambda a: (a * a + 0.5).log()),
    "pow": (1, lambda a: (a * a + 1) ** 0.5),
}

steps = programs(GRAPH_OPS)


def expression(program):
    """The program's output as a function of its inputs."""
    return lambda *xs: output_of(run_program(program, xs, GRAPH_OPS))


def usable(mg, program, point):
    """Reject points near relu's kink or where values grow too large to difference accurately."""
    nodes = run_program(program, [mg.engine.Value(x) for x in point], GRAPH_OPS)
    relu_inputs = [arguments(program, nodes, k, len(point))[0]
                   for k, (name, _, _) in enumerate(program) if name == "relu"]
    return all(abs(v.data) > 1e-3 for v in relu_inputs) and max(abs(n.data) for n in nodes) < 1e4


@SETTINGS
@given(program=steps, point=POINTS)
def test_random_graphs_of_every_operation_match_finite_differences(mg, program, point):
    assume(usable(mg, program, point))
    check_against_finite_differences(mg, expression(program), point, rel=1e-4, abs_=1e-5)


@SETTINGS
@given(program=steps, point=POINTS)
def test_random_graphs_of_every_operation_agree_with_pytorch(mg, program, point):
    torch = pytest.importorskip("torch")
    assume(usable(mg, program, point))
    inputs = [mg.engine.Value(x) for x in point]
    out = expression(program)(*inputs)
    out.backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    expected = expression(program)(*tensors)
    expected.backward()
    assert out.data == pytest.approx(expected.item(), rel=1e-9, abs=1e-9)
    for v, t in zip(inputs, tensors):
        assert v.grad == pytest.approx(0.0 if t.grad is None else t.grad.item(), rel=1e-9, abs=1e-9)


def chapter_expression(x, y, z):
    """The expression of the chapter's numerical check (works on Values and tensors)."""
    return ((x * y).tanh() + (z / x).exp() - (y ** 2 + 1).log() + (1 - x).sigmoid() * z.relu()) / (2 - y)


def test_the_chapter_expression_agrees_with_pytorch(mg):
    torch = pytest.importorskip("torch")
    point = [0.7, -1.3, 0.4]
    inputs = [mg.engine.Value(x) for x in point]
    out = chapter_expression(*inputs)
    out.backward()
    tensors = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in point]
    expected = chapter_expression(*tensors)
    expected.backward()
    assert out.data == pytest.approx(expected.item(), rel=1e-12)
    assert [v.grad for v in inputs] == pytest.approx([t.grad.item() for t in tensors], rel=1e-12)


def central_difference_errors(Value, h):
    """|central difference - exact derivative| of exp at x = 0.1 ... 2.0, with the truncation term.

    By Taylor's theorem the truncation error of (f(x+h) - f(x-h)) / 2h is, to leading order,
    f3(x) h^2 / 6, with f3 the third derivative: for exp, exp itself.
    """
    for x in [k / 10 for k in range(1, 21)]:
        numeric = (Value(x + h).exp().data - Value(x - h).exp().data) / (2 * h)
        yield abs(numeric - math.exp(x)), math.exp(x) * h * h / 6


def test_the_central_differences_error_is_truncation_at_large_steps_and_rounding_at_1e_6(mg):
    # chapter 7: the error falls like h^2 for large steps; at h = 1e-6 rounding dominates
    Value = mg.engine.Value
    for error, truncation in central_difference_errors(Value, 1e-3):
        assert error == pytest.approx(truncation, rel=1e-4)
    ratios = sorted(error / truncation for error, truncation in central_difference_errors(Value, 1e-6))
    assert ratios[len(ratios) // 2] > 10  # the median error is many times the truncation term


@pytest.mark.parametrize("x", [-1000.0, -50.0, 0.0, 50.0, 1000.0])
def test_tanh_and_sigmoid_agree_with_pytorch_at_extremes(mg, x):
    torch = pytest.importorskip("torch")
    for op in ("tanh", "sigmoid"):
        v = mg.engine.Value(x)
        out = getattr(v, op)()
        out.backward()
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        expected = getattr(t, op)()
        expected.backward()
        assert math.isfinite(out.data) and math.isfinite(v.grad)
        assert out.data == pytest.approx(expected.item(), rel=1e-12, abs=1e-300), op
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-9, abs=1e-300), op


# ---------------------------------------------------------------- the chapter's exercises


def test_exercise_softplus(mg):
    def softplus(v):  # the solution
        return (1 + v.exp()).log()

    Value = mg.engine.Value
    v = Value(0.3)
    out = softplus(v)
    out.backward()
    assert out.data == pytest.approx(math.log1p(math.exp(0.3)), rel=1e-15)
    # d/dx ln(1 + e^x) = e^x / (1 + e^x) = sigmoid(x)
    assert v.grad == pytest.approx(1 / (1 + math.exp(-0.3)), rel=1e-14)
    assert v.grad == pytest.approx(Value(0.3).sigmoid().data, rel=1e-14)


def test_exercise_fan_out_in_a_loop(mg):
    # y = x^4 = 16 and dy/dx = 4 x^3 = 32 at x = 2
    x = mg.engine.Value(2.0)
    y = x
    for _ in range(3):
        y = y * x
    y.backward()
    assert (y.data, x.grad) == (16.0, 32.0)
