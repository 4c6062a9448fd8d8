"""The package is a drop-in for the original micrograd: its README, the lecture's idioms, its demo.

Code written for the original micrograd (Andrej Karpathy's) or in the lecture that built it
runs here unmodified. Expected numbers come from PyTorch (float64) or by hand, never from
this engine.
"""
import math
import random

import pytest

from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Neuron

# ---------------------------------------------------------------- the original's README


def readme_example():
    """The README's example, statement for statement."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return a, b, g


def test_the_readme_example_gives_pytorchs_numbers():
    torch = pytest.importorskip("torch")
    a, b, g = readme_example()
    ta = torch.tensor(-4.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    # the same program on tensors (the README's `+=` rebinds names, as it does here)
    c = ta + tb
    d = ta * tb + tb**3
    c = c + c + 1
    c = c + 1 + c + (-ta)
    d = d + d * 2 + (tb + ta).relu()
    d = d + 3 * d + (tb - ta).relu()
    e = c - d
    f = e**2
    tg = f / 2.0
    tg = tg + 10.0 / f
    tg.backward()
    assert g.data == pytest.approx(tg.item(), rel=1e-12)
    assert a.grad == pytest.approx(ta.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(tb.grad.item(), rel=1e-12)
    # and the README's own printed digits
    assert (f"{g.data:.4f}", f"{a.grad:.4f}", f"{b.grad:.4f}") == ("24.7041", "138.8338", "645.5773")


# ---------------------------------------------------------------- the lecture's idioms


def test_values_take_the_lectures_constructor_arguments_and_labels():
    a = Value(2.0, label="a")
    b = Value(-3.0, _children=(), _op="")
    c = Value(1, _children=())  # an int, as the lecture sometimes writes
    e = a * b
    e.label = "e"
    assert (a.label, e.label, b.label) == ("a", "e", "")
    assert c.data == 1.0 and c._prev == () and c._op == ""
    assert set(e._prev) == {a, b} and e._op == "*"


def test_backward_by_hand_node_by_node_as_in_the_lecture():
    # o = tanh(x1 w1 + x2 w2 + b), the lecture's neuron; gradients by hand:
    # n = 0.8814 (so o = tanh n = 0.7071..., do/dn = 1 - o^2 = 0.5)
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    x1w1, x2w2 = x1 * w1, x2 * w2
    n = x1w1 + x2w2 + b
    o = n.tanh()
    o.grad = 1.0
    o._backward()
    n._backward()
    n._prev[0]._backward()  # the node x1w1 + x2w2
    x1w1._backward()
    x2w2._backward()
    assert n.grad == pytest.approx(1 - math.tanh(n.data) ** 2, rel=1e-12)
    assert w1.grad == pytest.approx(2.0 * n.grad, rel=1e-12)  # do/dw1 = x1 do/dn
    assert x1.grad == pytest.approx(-3.0 * n.grad, rel=1e-12)  # do/dx1 = w1 do/dn
    assert w2.grad == 0.0  # x2 = 0


def test_the_lectures_recursive_topological_sort_walks_the_graph():
    a, b = Value(2.0), Value(3.0)
    out = (a * b + a).tanh()
    topo, visited = [], set()

    def build_topo(v):
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(out)
    assert topo[-1] is out and len(topo) == 5 and {a, b} <= set(topo)


def test_the_lectures_drawing_reads_label_op_data_grad_and_prev():
    a = Value(2.0, label="a")
    out = a * 3 + 1
    out.label = "out"
    nodes, stack = set(), [out]
    while stack:
        v = stack.pop()
        nodes.add(v)
        stack.extend(v._prev)
    text = {"{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad) for n in nodes}
    assert "{ a | data 2.0000 | grad 0.0000 }" in text
    assert {n._op for n in nodes} == {"", "*", "+"}


def cube(x):
    """A new operation written the lecture's way: build out, set out._backward."""
    out = Value(x.data**3, (x,), "cube")

    def _backward():
        x.grad += 3 * x.data**2 * out.grad

    out._backward = _backward
    return out


def test_a_new_operation_written_the_lectures_way_backpropagates():
    x = Value(1.5)
    y = cube(x * 2) + x  # (2x)^3 + x: dy/dx = 24 x^2 + 1 = 55 at x = 1.5
    y.backward()
    assert y.data == 28.5 and x.grad == 55.0
    # also when it overrides an operation the engine knows by name
    z = Value(2.0)
    out = Value(z.data * 10, (z,), "exp")
    out._backward = lambda: setattr(z, "grad", z.grad + 10 * out.grad)
    out.backward()
    assert z.grad == 10.0


def test_every_node_has_a_backward_to_call_and_a_power_names_its_exponent():
    # The original labels x**2 as "**2" (its drawings show it); _backward is callable on any node.
    x = Value(3.0)
    square, reciprocal = x**2, 1 / x
    assert square._op == "**2" and reciprocal._prev[1]._op == "**-1"  # 1 / x is 1 * x**-1
    assert callable(x._backward) and callable(square._backward)
    square.grad = 1.0
    square._backward()
    x._backward()  # a leaf's does nothing
    assert x.grad == 6.0  # d x^2/dx = 2x


def test_a_value_used_twice_gets_both_contributions():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0  # d(a + a)/da = 1 + 1
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0  # d(a a)/da = a + a


def test_an_operation_without_a_backward_rule_is_an_error_naming_it():
    x = Value(2.0)
    out = Value(x.data**3, (x,), "cube")  # forgot out._backward
    with pytest.raises(NotImplementedError, match="'cube'"):
        out.backward()
    with pytest.raises(NotImplementedError, match="'cube'"):
        out._backward()


def test_the_lectures_network_takes_plain_numbers():
    random.seed(7)
    n = Neuron(2)
    assert isinstance(n([2.0, 3.0]), Value)
    assert len(Layer(2, 3)([2.0, 3.0])) == 3
    model = MLP(3, [4, 4, 1])
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5]]
    ypred = [model(x) for x in xs]
    loss = sum((yout - ygt) ** 2 for ygt, yout in zip([1.0, -1.0], ypred))
    loss.backward()
    assert len(model.parameters()) == 41  # 4*4 + 4*5 + 1*5
    assert any(p.grad != 0 for p in model.parameters())


def test_the_seed_demo_one_neuron_learns():
    # The book's first example: a lone Neuron(2) squashes with tanh and learns two points.
    random.seed(0)
    xs = [[Value(2.0), Value(3.0)], [Value(1.0), Value(-1.0)]]
    ys = [Value(1.0), Value(-1.0)]
    n = Neuron(2)
    assert n.activation == "tanh"
    for _ in range(20):
        ypred = [n(x) for x in xs]
        loss = sum((yout - yt) ** 2 for yout, yt in zip(ypred, ys))
        for p in n.parameters():
            p.grad = 0
        loss.backward()
        for p in n.parameters():
            p.data -= 0.1 * p.grad
    assert loss.data < 0.05


# ---------------------------------------------------------------- the original's nn API


def test_the_originals_nonlin_keyword():
    assert Neuron(2, nonlin=True).activation == "relu"
    assert Neuron(2, nonlin=False).activation == "linear"
    assert {n.activation for n in Layer(2, 3, nonlin=False).neurons} == {"linear"}
    assert Neuron(2, activation="sigmoid").activation == "sigmoid"


def test_an_mlp_has_relu_hidden_layers_and_a_linear_output_as_in_the_original():
    model = MLP(2, [16, 16, 1])
    acts = [[n.activation for n in layer.neurons] for layer in model.layers]
    assert acts == [["relu"] * 16, ["relu"] * 16, ["linear"]]


def test_weights_are_a_list_and_parameters_keep_the_originals_order():
    random.seed(3)
    n = Neuron(3)
    assert isinstance(n.w, list)
    assert n.parameters() == n.w + [n.b]
    random.seed(3)
    drawn = [random.uniform(-1, 1) for _ in range(3)]  # the original draws w in order, b = 0
    assert [w.data for w in n.w] == drawn and n.b.data == 0.0
    model = MLP(2, [3, 1])
    expected = [p for layer in model.layers for neuron in layer.neurons for p in neuron.w + [neuron.b]]
    assert model.parameters() == expected
    model([1.0, -2.0]).backward()
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


# ---------------------------------------------------------------- the original's demo.ipynb


def torch_demo_losses(torch, X, y, steps):
    """The demo's per-step losses, with PyTorch float64 on the same network and initialisation."""
    random.seed(1337)
    sizes = [2, 16, 16, 1]
    layers = []
    for nin, nout in zip(sizes, sizes[1:]):  # the original's order: neuron by neuron, w then b
        w = torch.tensor([[random.uniform(-1, 1) for _ in range(nin)] for _ in range(nout)],
                         dtype=torch.float64, requires_grad=True)
        layers.append((w, torch.zeros(nout, dtype=torch.float64, requires_grad=True)))
    inputs = torch.tensor(X, dtype=torch.float64)
    labels = torch.tensor(y, dtype=torch.float64)
    losses = []
    for k in range(steps):
        h = inputs
        for i, (w, b) in enumerate(layers):
            h = h @ w.T + b
            if i < len(layers) - 1:
                h = torch.relu(h)
        scores = h[:, 0]
        data_loss = torch.relu(1 - labels * scores).mean()
        reg_loss = 1e-4 * sum((p * p).sum() for layer in layers for p in layer)
        loss = data_loss + reg_loss
        for p in (p for layer in layers for p in layer):
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in (p for layer in layers for p in layer):
                p -= (1.0 - 0.9 * k / 100) * p.grad
        losses.append(loss.item())
    accuracy = ((scores > 0) == (labels > 0)).double().mean().item()
    return losses, accuracy


def test_the_originals_demo_reproduces_pytorchs_losses_and_reaches_100_percent():
    torch = pytest.importorskip("torch")
    np = pytest.importorskip("numpy")
    datasets = pytest.importorskip("sklearn.datasets")
    # demo.ipynb, cell by cell
    np.random.seed(1337)
    random.seed(1337)
    X, y = datasets.make_moons(n_samples=100, noise=0.1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    ours = []
    for k in range(100):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        ours.append(total_loss.data)
    expected, torch_accuracy = torch_demo_losses(torch, X.tolist(), y.tolist(), 100)
    assert ours == pytest.approx(expected, rel=1e-9)
    assert acc == torch_accuracy == 1.0


# ---------------------------------------------------------------- NaN and infinity, as in PyTorch


SPECIAL = [math.nan, math.inf, -math.inf]


def same_float(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


UNARY = {
    "tanh": (lambda v: v.tanh(), lambda t: t.tanh()),
    "relu": (lambda v: v.relu(), lambda t: t.relu()),
    "sigmoid": (lambda v: v.sigmoid(), lambda t: t.sigmoid()),
    "exp": (lambda v: v.exp(), lambda t: t.exp()),
    "log": (lambda v: v.log(), lambda t: t.log()),
    "neg": (lambda v: -v, lambda t: -t),
    "square": (lambda v: v**2, lambda t: t**2),
    "reciprocal": (lambda v: v**-1, lambda t: t**-1),
    "sqrt": (lambda v: v**0.5, lambda t: t**0.5),
    "cube": (lambda v: v**3, lambda t: t**3),
}


# Left out, and tested below: the log of -inf (a ValueError here, deliberately), and
# (-inf) ** 0.5, where Python's float power gives inf (as C99 says) and PyTorch nan.
DIFFERENT = {("log", -math.inf), ("sqrt", -math.inf)}


@pytest.mark.parametrize("name, x", [(name, x) for name in UNARY for x in SPECIAL
                                     if (name, x) not in DIFFERENT], ids=str)
def test_nan_and_infinity_pass_through_every_function_as_in_pytorch(name, x):
    torch = pytest.importorskip("torch")
    ours, theirs = UNARY[name]
    v = Value(x)
    out = ours(v)
    (out * 1.0).backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tout = theirs(t)
    tout.backward()
    assert same_float(out.data, tout.item()), (out.data, tout.item())
    assert same_float(v.grad, t.grad.item()), (v.grad, t.grad.item())


BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("a, b", [(x, 2.0) for x in SPECIAL] + [(2.0, x) for x in SPECIAL]
                         + [(math.inf, math.inf), (math.nan, math.inf), (0.0, math.inf)], ids=str)
def test_nan_and_infinity_pass_through_arithmetic_as_in_pytorch(op, a, b):
    torch = pytest.importorskip("torch")
    va, vb = Value(a), Value(b)
    out = BINARY[op](va, vb)
    out.backward()
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    tout = BINARY[op](ta, tb)
    tout.backward()
    assert same_float(out.data, tout.item())
    assert same_float(va.grad, ta.grad.item()) and same_float(vb.grad, tb.grad.item())


@pytest.mark.parametrize("special", SPECIAL, ids=str)
@pytest.mark.parametrize("where", ["weight", "input", "bias"])
def test_nan_and_infinity_pass_through_a_weighted_sum_as_in_pytorch(special, where):
    torch = pytest.importorskip("torch")
    w, x, b = [0.5, -2.0, 1.5], [1.0, 3.0, -0.25], 0.75
    if where == "weight":
        w[1] = special
    elif where == "input":
        x[1] = special
    else:
        b = special
    vw, vx, vb = [Value(v) for v in w], [Value(v) for v in x], Value(b)
    out = Value.weighted_sum(vw, vx, vb).relu()  # a relu after it, on, off or NaN
    out.backward()
    tw, tx = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (w, x))
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    tout = torch.relu(tb + (tw * tx).sum())
    tout.backward()
    assert same_float(out.data, tout.item())
    ours = [v.grad for v in [*vw, *vx, vb]]
    theirs = tw.grad.tolist() + tx.grad.tolist() + [tb.grad.item()]
    if out.data == 0.0:  # sum -inf (here) or <= 0: the relu is off, d relu(s)/ds = 0
        # The deliberate difference of chapter 8: nothing is handed back behind an off ReLU,
        # where PyTorch multiplies its 0 by the local derivatives, NaN for an infinite one.
        assert ours == [0.0] * 7
        assert all(g == 0.0 or (math.isnan(g) and special in (math.inf, -math.inf))
                   for g in theirs)
    else:
        assert all(same_float(a, b) for a, b in zip(ours, theirs))


def test_the_deliberate_differences_are_errors():
    with pytest.raises(ValueError, match="positive"):
        Value(-math.inf).log()
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()
    with pytest.raises(TypeError):
        Value(True)
    with pytest.raises(TypeError):
        Value("1.0")
    assert math.isnan(Value(math.nan).log().data)
    assert (Value(-math.inf) ** 0.5).data == math.inf == (-math.inf) ** 0.5
