"""Helpers shared by the chapter tests: PyTorch when it is there, and central differences."""
import math
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st


def need_torch():
    """torch must be there in CI; locally a missing torch skips the cross-checks."""
    if os.environ.get("CI"):
        import torch

        return torch
    return pytest.importorskip("torch")


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
