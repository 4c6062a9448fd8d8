"""Helpers shared by the chapter tests: central differences, and random expressions
(programs) to check them on."""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])


def central_difference(f, point, i, h=1e-6):
    """(f(x + h e_i) - f(x - h e_i)) / 2h: error O(h^2) for smooth f."""
    up, down = list(point), list(point)
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)


def check_against_finite_differences(mg, fn, point, rel=1e-5, abs_=1e-6):
    """The engine's gradient of fn at point equals the central difference in every input."""
    Value = mg.engine.Value
    inputs = [Value(x) for x in point]
    fn(*inputs).backward()
    for i, v in enumerate(inputs):
        numeric = central_difference(lambda p: fn(*[Value(x) for x in p]).data, point, i)
        assert math.isclose(v.grad, numeric, rel_tol=rel, abs_tol=abs_), (i, v.grad, numeric)


def check_operation_against_finite_differences(mg, fn, strategies, settings):
    """check_against_finite_differences at points drawn from one strategy per argument of fn."""

    @settings
    @given(st.tuples(*strategies))
    def check(point):
        check_against_finite_differences(mg, fn, point)

    check()


def local_grads(out):
    """Seed out.grad = 1, call only out's own rule, return its inputs' grads."""
    out.grad = 1.0
    out._backward()
    return [child.grad for child in out._prev]


# ---------------------------------------------------------------- random expressions
# A program is a list of steps (operation name, i, j). Each step applies an operation of
# an ops table {name: (arity, fn)} to earlier nodes i and j (taken modulo the count so
# far), so any node may feed several later ones. The fns work on Values and on torch
# tensors alike.

POINTS = st.lists(st.floats(-2, 2), min_size=3, max_size=3)


def programs(ops):
    """Programs of 1 to 8 steps over the operations of ops."""
    step = st.tuples(st.sampled_from(sorted(ops)), st.integers(0, 10**6), st.integers(0, 10**6))
    return st.lists(step, min_size=1, max_size=8)


def arguments(program, nodes, k, n_inputs):
    """The arguments of step k, read from nodes (the inputs, then one node per step)."""
    _, i, j = program[k]
    so_far = n_inputs + k
    return nodes[i % so_far], nodes[j % so_far]


def run_program(program, inputs, ops):
    """Every node of the program run on inputs: the inputs, then one per step."""
    nodes = list(inputs)
    for k, (name, _, _) in enumerate(program):
        arity, fn = ops[name]
        nodes.append(fn(*arguments(program, nodes, k, len(inputs))[:arity]))
    return nodes


def output_of(nodes):
    """The sum of every node, so that each one contributes to the output."""
    total = nodes[0]
    for node in nodes[1:]:
        total = total + node
    return total
