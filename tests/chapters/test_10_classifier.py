"""Chapter 10, a classifier from scratch: the two-moons data, the loss, training."""
import math
import random
import statistics

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.since("10-classifier")


# ---------------------------------------------------------------- make_moons


def test_make_moons_is_deterministic_per_seed(mg):
    first = mg.datasets.make_moons(n_samples=50, noise=0.1, seed=3)
    again = mg.datasets.make_moons(n_samples=50, noise=0.1, seed=3)
    other = mg.datasets.make_moons(n_samples=50, noise=0.1, seed=4)
    assert first == again
    assert first[0] != other[0]
    assert first[1] == other[1]  # the labels do not depend on the noise


def test_make_moons_leaves_the_global_random_state_alone(mg):
    random.seed(5)
    expected = random.random()
    random.seed(5)
    mg.datasets.make_moons(n_samples=20, noise=0.3, seed=9)
    assert random.random() == expected


@pytest.mark.parametrize("n", [2, 7, 100])
def test_make_moons_shapes_and_labels(mg, n):
    points, labels = mg.datasets.make_moons(n_samples=n, noise=0.1, seed=0)
    assert len(points) == len(labels) == n
    assert all(len(p) == 2 and all(isinstance(c, float) for c in p) for p in points)
    # the upper moon gets n // 2 points labelled -1, the lower one the rest, labelled +1
    assert labels == [-1] * (n // 2) + [1] * (n - n // 2)


def test_make_moons_without_noise_lies_on_the_two_half_circles(mg):
    points, labels = mg.datasets.make_moons(n_samples=21, noise=0.0, seed=0)
    upper = [p for p, y in zip(points, labels) if y == -1]
    lower = [p for p, y in zip(points, labels) if y == 1]
    # upper: the unit half circle x^2 + y^2 = 1, y >= 0, from (1, 0) to (-1, 0)
    for x, y in upper:
        assert x * x + y * y == pytest.approx(1.0)
        assert y >= -1e-12
    assert upper[0] == pytest.approx([1.0, 0.0])
    assert upper[-1] == pytest.approx([-1.0, 0.0], abs=1e-12)
    # lower: the circle of radius 1 around (1, 0.5), lower half, from (0, 0.5) to (2, 0.5)
    for x, y in lower:
        assert (x - 1) ** 2 + (y - 0.5) ** 2 == pytest.approx(1.0)
        assert y <= 0.5 + 1e-12
    assert lower[0] == pytest.approx([0.0, 0.5])
    assert lower[-1] == pytest.approx([2.0, 0.5], abs=1e-12)
    # evenly spaced: consecutive upper points are pi / 9 apart on the circle (10 points)
    gaps = [math.dist(a, b) for a, b in zip(upper, upper[1:])]
    assert gaps == pytest.approx([2 * math.sin(math.pi / 18)] * 9)  # chord of angle pi/9


def test_make_moons_noise_is_gaussian_with_the_given_deviation(mg):
    n, noise = 2000, 0.1
    clean, _ = mg.datasets.make_moons(n_samples=n, noise=0.0, seed=0)
    noisy, _ = mg.datasets.make_moons(n_samples=n, noise=noise, seed=11)
    shifts = [a - b for p, q in zip(noisy, clean) for a, b in zip(p, q)]
    # 4000 draws of N(0, 0.1^2): the mean is within 6 standard errors (6 * 0.1 / sqrt(4000) < 0.01),
    # the sample deviation within about 9 standard errors (0.1 / sqrt(2 * 4000) ~ 0.0011) of 0.1,
    # and no draw beyond 6 sigma (probability ~ 4000 * 2e-9).
    assert abs(statistics.fmean(shifts)) < 0.01
    assert statistics.pstdev(shifts) == pytest.approx(noise, abs=0.01)
    assert max(abs(s) for s in shifts) < 6 * noise


@pytest.mark.parametrize("kwargs", [{"n_samples": 1}, {"n_samples": 0}, {"noise": -0.1}, {"noise": math.nan}])
def test_make_moons_rejects_bad_arguments(mg, kwargs):
    with pytest.raises(ValueError):
        mg.datasets.make_moons(**kwargs)


# ---------------------------------------------------------------- loss, penalty, accuracy, schedule


def test_max_margin_loss_on_a_hand_computed_case(mg):
    Value = mg.engine.Value
    scores = [Value(2.0), Value(0.5), Value(-1.0)]
    loss = mg.demo.max_margin_loss(scores, [1, 1, 1])
    # relu(1 - 2) = 0, relu(1 - 0.5) = 0.5, relu(1 + 1) = 2: mean 2.5 / 3
    assert loss.data == pytest.approx(2.5 / 3)
    loss.backward()
    # d/ds_i of relu(1 - y_i s_i) / 3 is -y_i / 3 where the margin is positive, 0 where it is not
    assert [s.grad for s in scores] == pytest.approx([0.0, -1 / 3, -1 / 3])


def test_max_margin_loss_with_negative_labels(mg):
    Value = mg.engine.Value
    scores = [Value(-2.0), Value(0.3)]
    loss = mg.demo.max_margin_loss(scores, [-1, -1])
    # relu(1 - 2) = 0 and relu(1 + 0.3) = 1.3: mean 0.65; d/ds_2 = +1/2
    assert loss.data == pytest.approx(0.65)
    loss.backward()
    assert [s.grad for s in scores] == pytest.approx([0.0, 0.5])


def test_l2_penalty_and_its_gradient(mg):
    Value = mg.engine.Value
    params = [Value(1.0), Value(-2.0)]
    penalty = mg.demo.l2_penalty(params, alpha=0.1)
    assert penalty.data == pytest.approx(0.5)  # 0.1 * (1 + 4)
    penalty.backward()
    assert [p.grad for p in params] == pytest.approx([0.2, -0.4])  # 2 * alpha * p


def test_the_moons_loss_penalises_the_biases_too(mg):
    # chapter 10: the penalty is summed over every parameter, biases included, so it adds
    # 2 * alpha * b to a bias's gradient (by hand: d(alpha b^2)/db)
    model = mg.demo.moons_classifier(seed=1)
    bias = model.layers[0].neurons[0].b
    bias.data = 0.5
    gradients = []
    for alpha in (0.0, 0.1):
        loss, _ = mg.demo.moons_loss(model, [[0.3, -0.2]], [1], alpha=alpha)
        model.zero_grad()
        loss.backward()
        gradients.append(bias.grad)
    assert gradients[1] - gradients[0] == pytest.approx(2 * 0.1 * 0.5, rel=1e-12)


def test_accuracy_counts_signs(mg):
    Value = mg.engine.Value
    scores = [Value(1.0), Value(-1.0), Value(0.5), Value(0.0)]
    # right, wrong, wrong, right (a score of exactly 0 counts as the -1 side)
    assert mg.demo.accuracy(scores, [1, 1, -1, -1]) == pytest.approx(0.5)


def test_learning_rate_schedule(mg):
    rate = mg.demo.learning_rate
    assert rate(0, 100) == pytest.approx(1.0)
    assert rate(50, 100) == pytest.approx(0.55)  # 1 - 0.9 * 50 / 100
    assert rate(99, 100) == pytest.approx(0.109)  # 1 - 0.9 * 99 / 100


def test_the_model_has_the_chapter_shape(mg):
    model = mg.demo.moons_classifier(seed=1)
    # 2*16 + 16 weights and biases, 16*16 + 16, 16 + 1: 48 + 272 + 17
    assert len(model.parameters()) == 337
    again = mg.demo.moons_classifier(seed=1)
    assert [p.data for p in model.parameters()] == [p.data for p in again.parameters()]


# ---------------------------------------------------------------- training


def test_a_short_training_run_reduces_the_loss(mg):
    training = mg.demo.train_moons(steps=12, seed=1, n_samples=30)
    losses = [step.loss for step in training.history]
    assert len(losses) == 12
    assert [step.step for step in training.history] == list(range(12))
    assert losses[-1] < 0.8 * losses[0]
    assert training.history[-1].accuracy > 0.5


def test_training_reports_each_step(mg):
    seen = []
    mg.demo.train_moons(steps=3, seed=2, n_samples=10, on_step=seen.append)
    assert [s.step for s in seen] == [0, 1, 2]
    assert [s.learning_rate for s in seen] == pytest.approx([1.0, 0.7, 0.4])  # 1 - 0.9 * k / 3


def test_training_matches_pytorch_step_by_step(mg):
    """The same model, data, loss and updates in PyTorch float64 give the same losses and accuracies."""
    torch = pytest.importorskip("torch")
    steps, seed, n = 4, 3, 24
    points, labels = mg.datasets.make_moons(n_samples=n, noise=0.1, seed=seed)
    model = mg.demo.moons_classifier(seed)  # the initial weights, copied into PyTorch below
    params = []
    for layer in model.layers:
        W = torch.tensor([[w.data for w in neuron.w] for neuron in layer.neurons], dtype=torch.float64)
        b = torch.tensor([neuron.b.data for neuron in layer.neurons], dtype=torch.float64)
        params += [W.requires_grad_(), b.requires_grad_()]
    X = torch.tensor(points, dtype=torch.float64)
    y = torch.tensor(labels, dtype=torch.float64)
    expected = []
    for k in range(steps):
        h = X
        for i in range(0, len(params), 2):
            h = h @ params[i].T + params[i + 1]
            if i < len(params) - 2:
                h = torch.relu(h)
        score = h[:, 0]
        loss = torch.relu(1 - y * score).mean() + 1e-4 * sum((p * p).sum() for p in params)
        expected.append((loss.item(), ((score > 0) == (y > 0)).double().mean().item()))
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= (1 - 0.9 * k / steps) * p.grad
                p.grad = None

    training = mg.demo.train_moons(steps=steps, seed=seed, n_samples=n)
    got = [(s.loss, s.accuracy) for s in training.history]
    for (loss, acc), (want_loss, want_acc) in zip(got, expected):
        assert loss == pytest.approx(want_loss, rel=1e-9)
        assert acc == pytest.approx(want_acc)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=2, max_value=60), noise=st.floats(min_value=0.0, max_value=1.0),
       seed=st.integers(min_value=0, max_value=2**32))
def test_make_moons_property(mg, n, noise, seed):
    points, labels = mg.datasets.make_moons(n_samples=n, noise=noise, seed=seed)
    assert len(points) == n and labels.count(-1) == n // 2 and labels.count(1) == n - n // 2
    clean, _ = mg.datasets.make_moons(n_samples=n, noise=0.0, seed=seed)
    # each coordinate moved by one Gaussian draw of deviation `noise`: never beyond ~8 deviations
    assert all(abs(a - b) <= 8 * noise + 1e-12 for p, q in zip(points, clean) for a, b in zip(p, q))
