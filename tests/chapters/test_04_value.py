"""Chapter 4, The Value class: values, the graph the forward pass records, local rules, drawing."""
import fractions
import math
import sys

import pytest

from gradcheck import local_grads

pytestmark = pytest.mark.since("04-value")


# ---------------------------------------------------------------- construction


def test_a_value_holds_a_float_and_a_zero_float_grad(mg):
    v = mg.engine.Value(3)
    assert v.data == 3.0 and type(v.data) is float
    assert v.grad == 0.0 and type(v.grad) is float
    assert v._prev == () and v._op == ""


def test_real_numbers_other_than_int_and_float_are_accepted(mg):
    assert mg.engine.Value(fractions.Fraction(1, 4)).data == 0.25


@pytest.mark.parametrize("bad", ["x", None, [1.0], True, False, 1j])
def test_non_numbers_are_refused_with_a_type_error(mg, bad):
    with pytest.raises(TypeError, match="a Value holds a real number"):
        mg.engine.Value(bad)


def test_a_value_cannot_wrap_a_value(mg):
    with pytest.raises(TypeError, match="not Value"):
        mg.engine.Value(mg.engine.Value(1.0))


def test_operators_refuse_non_numbers(mg):
    v = mg.engine.Value(1.0)
    with pytest.raises(TypeError, match="str"):
        v + "a"
    with pytest.raises(TypeError, match="str"):
        "a" * v
    with pytest.raises(TypeError, match="NoneType"):
        v * None


def test_repr_shows_data_grad_and_op(mg):
    Value = mg.engine.Value
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0) * 3) == "Value(data=6.0, grad=0.0, op='*')"


# ---------------------------------------------------------------- the graph


def test_addition_records_its_inputs_in_order(mg):
    a = mg.engine.Value(2.0)
    b = a + 3
    assert b.data == 5.0  # 2 + 3 by hand
    assert b._op == "+"
    assert isinstance(b._prev, tuple)
    assert b._prev[0] is a and b._prev[1].data == 3.0


def test_prev_keeps_order_and_duplicates(mg):
    Value = mg.engine.Value
    a, b = Value(1.0), Value(2.0)
    assert (a * b)._prev == (a, b)
    assert (b * a)._prev == (b, a)
    s = a + a
    assert len(s._prev) == 2 and s._prev[0] is a and s._prev[1] is a


def test_plain_numbers_on_either_side(mg):
    Value = mg.engine.Value
    v = Value(4.0)
    assert (v + 1).data == 5.0 and (1 + v).data == 5.0
    assert (v * 2).data == 8.0 and (2 * v).data == 8.0
    assert (v - 1).data == 3.0
    assert (v * 0.5).data == 2.0
    assert sum([v, v, v]).data == 12.0  # sum starts at int 0: 0 + v uses __radd__


def test_plus_equals_rebinds_to_a_new_node(mg):
    Value = mg.engine.Value
    x = Value(1.0)
    first = x
    x += 2
    assert x is not first and x.data == 3.0 and x._prev[0] is first
    assert first.data == 1.0


def test_forward_values(mg):
    Value = mg.engine.Value
    assert (Value(3.0) ** 2).data == 9.0
    assert (Value(4.0) ** 0.5).data == 2.0
    assert (Value(2.0) ** -1).data == 0.5
    assert (-Value(3.0)).data == -3.0
    assert (Value(3.0) - Value(5.0)).data == -2.0
    assert Value(0.5).tanh().data == pytest.approx(math.tanh(0.5), rel=1e-15)


def test_power_of_a_value_is_refused(mg):
    Value = mg.engine.Value
    with pytest.raises(TypeError, match="exponent must be an int or a float"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError):
        Value(2.0) ** "2"


def test_fractional_power_of_a_negative_number_is_refused(mg):
    with pytest.raises(ValueError, match="no real value"):
        mg.engine.Value(-8.0) ** 0.5


@pytest.mark.parametrize("x", [1000.0, -1000.0, 400.0, -400.0, sys.float_info.max, -sys.float_info.max])
def test_tanh_is_finite_for_huge_inputs(mg, x):
    t = mg.engine.Value(x).tanh()
    assert t.data == math.copysign(1.0, x)  # tanh saturates to +-1 in floating point beyond ~19
    t.grad = 1.0
    t._backward()
    assert t._prev[0].grad == 0.0  # 1 - tanh^2 = 0 there


# ---------------------------------------------------------------- local rules (called by hand)


def test_local_rule_of_addition(mg):
    Value = mg.engine.Value
    assert local_grads(Value(2.0) + Value(-7.0)) == [1.0, 1.0]  # d(a+b)/da = d(a+b)/db = 1


def test_local_rule_of_multiplication(mg):
    Value = mg.engine.Value
    assert local_grads(Value(2.0) * Value(-7.0)) == [-7.0, 2.0]  # d(ab)/da = b, d(ab)/db = a


def test_local_rule_of_power(mg):
    Value = mg.engine.Value
    assert local_grads(Value(3.0) ** 2) == [6.0]  # d x^2/dx = 2x = 6
    assert local_grads(Value(4.0) ** 0.5) == [0.25]  # 0.5 * 4^-0.5 = 0.25
    assert local_grads(Value(2.0) ** -1) == [-0.25]  # -1 * 2^-2


def test_local_rule_of_tanh(mg):
    # tanh(atanh(0.6)) = 0.6, so d tanh/dx = 1 - 0.36 = 0.64
    [g] = local_grads(mg.engine.Value(math.atanh(0.6)).tanh())
    assert g == pytest.approx(0.64, rel=1e-12)


def test_rules_add_to_the_gradient(mg):
    Value = mg.engine.Value
    a, b = Value(2.0), Value(5.0)
    a.grad = 10.0
    out = a * b
    out.grad = 1.0
    out._backward()
    assert a.grad == 15.0  # 10 already there + b


# ---------------------------------------------------------------- drawing


def test_draw_dot_shows_every_value_and_op(mg):
    graphviz = pytest.importorskip("graphviz")
    Value = mg.engine.Value
    a, b = Value(2.0), Value(-3.0)
    out = a * b + 1.5
    out.grad = 1.0
    dot = mg.viz.draw_dot(out, names={a: "a"})
    assert isinstance(dot, graphviz.Digraph)
    assert dot.graph_attr["rankdir"] == "TB"  # three levels, at most two values broad
    source = dot.source
    assert source.count("shape=record") == 5  # a, b, 1.5, a*b and the sum
    assert source.count("shape=oval") == 2  # the * and the +
    assert source.count("->") == 2 + 2 + 2  # 4 inputs -> their ops, 2 ops -> their results
    assert "data = 2.0" in source and "data = -6.0" in source and "data = -4.5" in source
    assert "grad = 1.0" in source and "{ a | data = 2.0 | grad = 0.0 }" in source


def test_draw_dot_rounds_to_four_decimals(mg):
    pytest.importorskip("graphviz")
    Value = mg.engine.Value
    near = Value(-1.4999999999999993) + 0.0  # how a sum of floats can land next to -1.5
    source = mg.viz.draw_dot(near).source
    assert "data = -1.5 " in source and "-1.4999" not in source


def test_draw_dot_lays_out_a_deep_graph_top_to_bottom_and_a_broad_one_left_to_right(mg):
    Value = mg.engine.Value
    chain = Value(1.0)
    for _ in range(5):
        chain = chain * 2
    level = [Value(float(i)) for i in range(16)]
    while len(level) > 1:  # a balanced tree of sums: 5 levels, 16 leaves on the last
        level = [level[i] + level[i + 1] for i in range(0, len(level), 2)]
    assert mg.viz.narrower_direction(chain) == "TB"
    assert mg.viz.narrower_direction(level[0]) == "LR"


@pytest.mark.needs("dot")
def test_draw_dot_takes_the_original_micrograds_keywords(mg):
    pytest.importorskip("graphviz")
    Value = mg.engine.Value
    y = (Value(1.0) * 2 + 1).tanh()
    dot = mg.viz.draw_dot(y, format="png", rankdir="LR")  # as the original's trace_graph notebook
    assert dot.format == "png" and dot.graph_attr["rankdir"] == "LR"
    assert "{ data" not in dot.source  # left to right, a box's fields are stacked without braces
    assert dot.pipe()[:8] == b"\x89PNG\r\n\x1a\n"


def test_record_text_escapes_graphviz_signs_and_wraps_long_names(mg):
    assert mg.viz.record_text("a {b} | <c>") == r"a \{b\} \| \<c\>"
    assert mg.viz.record_text("the loss of the whole batch") == r"the loss of\nthe whole\nbatch"


@pytest.mark.needs("dot")
def test_draw_dot_renders_with_the_dot_program(mg):
    pytest.importorskip("graphviz")
    Value = mg.engine.Value
    svg = mg.viz.draw_dot(Value(2.0) * 3).pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "data = 6.0" in svg


def test_draw_dot_explains_a_missing_graphviz(mg, monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` raise ImportError
    with pytest.raises(ImportError, match="pip install graphviz"):
        mg.viz.draw_dot(mg.engine.Value(1.0))


def test_trace_is_iterative(mg):
    Value = mg.engine.Value
    x = Value(0.0)
    for _ in range(5000):  # deeper than the default recursion limit
        x = x + 1
    nodes, edges = mg.viz.trace(x)
    assert len(nodes) == 1 + 2 * 5000 and len(edges) == 2 * 5000


# ---------------------------------------------------------------- exercises


def test_exercise_leaves(mg):
    Value = mg.engine.Value

    def leaves(v):  # the solution, as printed in the chapter
        found, seen, stack = [], {id(v)}, [v]
        while stack:
            node = stack.pop()
            if not node._prev:
                found.append(node)
            for child in node._prev:
                if id(child) not in seen:
                    seen.add(id(child))
                    stack.append(child)
        return found

    a, b, c, f = Value(2.0), Value(-3.0), Value(10.0), Value(-2.0)
    L = (a * b + c) * f
    found = leaves(L)
    assert len(found) == 4 and {id(v) for v in found} == {id(a), id(b), id(c), id(f)}
    assert leaves(a) == [a]


def test_exercise_counting_operations(mg):
    x = mg.engine.Value(3.0)
    y = (x - 1) ** 2
    # x, the leaf 1, the leaf -1, 1 * -1, x + (-1), the square: six values
    assert len(mg.viz.trace(y)[0]) == 6
    assert y.data == 4.0
