"""Claims made by the exercises' solutions, checked against answers derived by hand.

The solutions' cells run at build and in test_cells.py; these tests check what
their prose says about the results.
"""
import math

import pytest


@pytest.mark.since("07-operations")
def test_power_through_exp_and_log_has_both_derivatives(mg):
    # chapter 7, ex-ops-power: a ** b = exp(b log a); d/da = b a^(b-1), d/db = a^b ln a
    Value = mg.engine.Value
    for base, exponent in [(2.0, 3.0), (0.5, -1.5), (3.7, 0.25)]:
        a, b = Value(base), Value(exponent)
        c = (b * a.log()).exp()
        c.backward()
        assert c.data == pytest.approx(base ** exponent, rel=1e-12)
        assert a.grad == pytest.approx(exponent * base ** (exponent - 1), rel=1e-12)
        assert b.grad == pytest.approx(base ** exponent * math.log(base), rel=1e-12)
    with pytest.raises(ValueError):
        Value(-2.0).log()  # why it cannot be the meaning of ** for every base


def descend(Value, rate, steps, reset):
    """Losses of gradient descent on (w - 3)**2 from w = 0, resetting w.grad or not."""
    w = Value(0.0)
    losses = []
    for _ in range(steps):
        loss = (w - 3) ** 2
        if reset:
            w.grad = 0.0
        loss.backward()
        w.data -= rate * w.grad
        losses.append(loss.data)
    return losses


@pytest.mark.since("06-mlp")
def test_gradient_descent_on_a_parabola_shrinks_the_distance_by_1_minus_2_rate(mg):
    # chapter 6: w - 3 is multiplied by (1 - 2 rate) at every step, so the loss by (1 - 2 rate)^2
    for rate in (0.05, 0.3, 1.05):
        losses = descend(mg.engine.Value, rate, 10, reset=True)
        for before, after in zip(losses, losses[1:]):
            assert after == pytest.approx(before * (1 - 2 * rate) ** 2, rel=1e-9)


@pytest.mark.since("06-mlp")
def test_a_forgotten_zero_grad_makes_the_loss_swing_forever(mg):
    # chapter 6, ex-mlp-zero-grad: w.grad holds the sum of all gradients, so w oscillates
    # around 3 without settling (w_{k+1} - 2 w_k + w_{k-1} = -2 rate (w_k - 3): no damping)
    correct = descend(mg.engine.Value, 0.1, 60, reset=True)
    forgetful = descend(mg.engine.Value, 0.1, 60, reset=False)
    assert correct[-1] < 1e-9
    assert max(forgetful[-15:]) > 5 and min(forgetful[-15:]) < 0.5
