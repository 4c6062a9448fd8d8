"""Chapter 9, micrograd and PyTorch: the same network and loss give the same gradients in both."""
import random

import pytest

pytestmark = pytest.mark.since("09-pytorch")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_mlp_gradients_agree_with_pytorch(mg, activation):
    torch = pytest.importorskip("torch")
    random.seed(7)
    model = mg.nn.MLP(3, [5, 4, 1], activation=activation, output_activation="linear")
    xs = [[0.5, -1.0, 2.0], [1.5, 0.2, -0.7], [-0.3, 0.8, 0.1]]
    labels = [1, -1, 1]
    # the chapter-10 loss, written out: mean hinge loss plus a small L2 penalty
    scores = [model(x) for x in xs]
    loss = sum((1 - y * s).relu() for s, y in zip(scores, labels)) * (1 / 3)
    loss = loss + 1e-2 * sum(p * p for p in model.parameters())
    model.zero_grad()
    loss.backward()

    act = {"tanh": torch.tanh, "relu": torch.relu}[activation]
    layers = [(torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True),
               torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True))
              for layer in model.layers]
    h = torch.tensor(xs, dtype=torch.float64)
    for i, (W, b) in enumerate(layers):
        h = h @ W.T + b
        if i < len(layers) - 1:
            h = act(h)
    y = torch.tensor(labels, dtype=torch.float64)
    loss_t = torch.relu(1 - y * h[:, 0]).mean() + 1e-2 * sum((W * W).sum() + (b * b).sum() for W, b in layers)
    loss_t.backward()

    assert loss.data == pytest.approx(loss_t.item(), rel=1e-12)
    expected = [g for W, b in layers for n in range(len(b)) for g in [*W.grad[n].tolist(), b.grad[n].item()]]
    assert [p.grad for p in model.parameters()] == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_gradients_accumulate_over_two_graphs_like_pytorch(mg):
    torch = pytest.importorskip("torch")
    Value = mg.engine.Value
    x, w = Value(1.5), Value(0.8)
    xt = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    wt = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    for _ in range(2):  # two forward passes, two graphs, one backward each
        (x * w).tanh().backward()
        torch.tanh(xt * wt).backward()
    assert w.grad == pytest.approx(wt.grad.item(), rel=1e-12)
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12)
