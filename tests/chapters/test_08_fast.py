"""Chapter 8, Making it fast: the same numbers as chapter 7's engine, in less time and memory."""
import gc
import math
import random
import sys
import tracemalloc
from fractions import Fraction

import pytest

import bench  # tools/bench.py (pyproject.toml puts tools/ on the path)
from gradcheck import central_difference
from snapshots import load_package

pytestmark = pytest.mark.since("08-fast")


_chapter_seven_results = {}


def chapter_seven(snapshot_folder, key, compute):
    """compute(folder of chapter 7's snapshot), once per test session: it is the same for every snapshot."""
    if key not in _chapter_seven_results:
        _chapter_seven_results[key] = compute(snapshot_folder("book/07-operations.md"))
    return _chapter_seven_results[key]


# ---------------------------------------------------------------- depth and memory


@pytest.mark.engine_only
def test_a_million_node_chain_backpropagates_at_the_default_recursion_limit(mg):
    assert sys.getrecursionlimit() <= 10_000  # nothing raised it behind our back
    Value = mg.engine.Value
    x, c = Value(0.5), Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + c
    y.backward()
    # y = x + 10^6 c: dy/dx = 1 and dy/dc = 10^6 (adding 1.0 a million times is exact in floats)
    assert x.grad == 1.0
    assert c.grad == 1_000_000.0
    assert y.data == 1_000_000.5


def graph_bytes_per_node(build):
    tracemalloc.start()
    try:
        root = build()
        used, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return used / bench.graph_nodes(root)


def test_a_chain_of_products_takes_at_most_160_bytes_a_node(mg):
    # a Value with its six fields (80 bytes), its float (24) and its 2-tuple of children (56)
    Value = mg.engine.Value
    c = Value(1.000001)

    def build():
        y = Value(1.0)
        for _ in range(50_000):
            y = y * c
        return y

    assert graph_bytes_per_node(build) <= 160


def test_the_demo_graph_takes_at_most_1_3_mb_a_tenth_of_chapter_seven_memory(mg, snapshot_folder):
    # Bytes for one step's graph, measured in a fresh subprocess for each engine
    # (tracemalloc in this process would be skewed by objects freed earlier).
    # Per point, by hand: 17 neurons over 16 inputs, each a Value (80 bytes), its float (24) and
    # its tuple of 33 children (304): 6,936; 16 neurons over 2 inputs (80 + 24 + 80): 2,944;
    # the hinge loss and the mean, 5 nodes of at most 160 (as above) and 3 leaves of 104; the
    # 2 input leaves: 11,504 in all, 1,150,400 for 100 points. The penalty: 675 nodes of at
    # most 160 and its 2 leaves: 108,208. Together 1,258,608, below 1.3 MB.
    simple = chapter_seven(snapshot_folder, "memory",
                           lambda folder: bench.run_worker(folder, steps=2, memory=True))
    fast = bench.run_worker(mg.folder, steps=2, memory=True)
    assert fast["graph_bytes"] <= 1_300_000
    assert fast["graph_bytes"] * 10 <= simple["graph_bytes"]
    assert fast["nodes"] * 10 <= simple["nodes"]


def test_a_value_has_no_instance_dictionary_but_the_lectures_fields(mg):
    v = mg.engine.Value(1.0) * 2
    assert not hasattr(v, "__dict__")
    v.label = "v"  # a slot, like data and grad
    assert v.label == "v" and mg.engine.Value(1.0, label="w").label == "w"
    with pytest.raises(AttributeError):
        v.colour = "red"


def test_a_trained_graph_leaves_no_reference_cycles_for_the_collector(mg):
    # With the collector off, a graph must vanish by reference counting alone:
    # the next collection then finds nothing unreachable to free.
    model = mg.nn.MLP(3, [4, 4, 1], activation="relu", output_activation="linear")
    Value = mg.engine.Value
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            loss = sum((model([Value(0.5), -1.0, 2.0]) - 1.0) ** 2 for _ in range(5))
            loss = (loss / 5).tanh().exp().log() + loss.sigmoid()
            model.zero_grad()
            loss.backward()
            del loss
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- the same numbers as chapter 7


def demo_losses(package, steps=4):
    points, labels = bench.moons()
    model = bench.new_model(package)
    return [bench.train_step(model, points[:40], labels[:40], k) for k in range(steps)]


def test_the_demo_losses_equal_chapter_seven_engine(mg, snapshot_folder):
    losses = {
        "simple": chapter_seven(snapshot_folder, "losses", lambda folder: demo_losses(load_package(folder))),
        "fast": demo_losses(mg),
    }
    # The target is agreement within 1e-9; the same rules run in the same order, so they are identical.
    assert losses["fast"] == losses["simple"]
    assert len(set(losses["fast"])) == 4  # the parameters really moved between steps


def test_a_relu_neuron_is_one_node_and_another_neuron_two(mg):
    random.seed(3)
    inputs = [mg.engine.Value(0.1 * i) for i in range(16)]
    out = mg.nn.Neuron(16, activation="relu")(inputs)
    assert out._op == "relu(dot)"
    # bias, 16 weights and 16 inputs, all leaves: 1 + 16 + 16 + the node itself
    assert bench.graph_nodes(out) == 34
    out = mg.nn.Neuron(16, activation="tanh")(inputs)
    (total,) = out._prev
    assert out._op == "tanh" and total._op == "dot" and bench.graph_nodes(out) == 35


def test_a_relu_neuron_gives_the_numbers_of_a_weighted_sum_and_a_relu(mg):
    # The same rules in the same order, in one node or in two: equal, bit for bit,
    # on both sides of the kink (the third bias makes the sum negative).
    Value = mg.engine.Value
    by_bias = {}
    for bias in (0.5, -0.25, -9.0):
        results = []
        for fused in (True, False):
            w, x, b = [Value(1.5), Value(-2.0)], [Value(0.75), Value(0.125)], Value(bias)
            out = Value.weighted_sum(w, x, b, relu=True) if fused else Value.weighted_sum(w, x, b).relu()
            (out * 3.0).backward()
            results.append([out.data] + [v.grad for v in [*w, *x, b]])
        assert results[0] == results[1]
        by_bias[bias] = results[0]
    # by hand: sum = 0.5 + 1.5 * 0.75 - 2 * 0.125 = 1.375 > 0, and d(3 relu(sum))/dw_i = 3 x_i,
    # d/dx_i = 3 w_i, d/db = 3; with the bias -9 the sum is -8.125: the relu is off, all zero
    assert by_bias[0.5] == [1.375, 2.25, 0.375, 4.5, -6.0, 3.0]
    assert by_bias[-9.0] == [0.0] * 6


# ---------------------------------------------------------------- the weighted-sum node


def test_weighted_sum_equals_the_left_to_right_float_sum(mg):
    # The same roundings as b + w1 x1 + w2 x2 + ... evaluated left to right in plain floats.
    rng = random.Random(5)
    Value = mg.engine.Value
    for n in (0, 1, 2, 7, 33):
        w = [rng.uniform(-3, 3) for _ in range(n)]
        x = [rng.uniform(-3, 3) for _ in range(n)]
        b = rng.uniform(-1, 1)
        expected = b
        for wi, xi in zip(w, x):
            expected = expected + wi * xi
        out = Value.weighted_sum([Value(v) for v in w], [Value(v) for v in x], Value(b))
        assert out.data == expected


def test_weighted_sum_gradients_match_central_differences(mg):
    Value = mg.engine.Value
    rng = random.Random(11)
    n = 5
    point = [rng.uniform(-2, 2) for _ in range(2 * n + 1)]  # w1..wn, x1..xn, b

    def f(p):  # tanh(b + sum w_i x_i), in plain floats
        return math.tanh(p[2 * n] + sum(p[i] * p[n + i] for i in range(n)))

    values = [Value(v) for v in point]
    out = Value.weighted_sum(values[:n], values[n : 2 * n], values[2 * n]).tanh()
    out.backward()
    for i, v in enumerate(values):
        assert v.grad == pytest.approx(central_difference(f, point, i), rel=1e-6, abs=1e-9)


def test_weighted_sum_gradients_match_pytorch(mg):
    torch = pytest.importorskip("torch")
    Value = mg.engine.Value
    rng = random.Random(17)
    w, x = [rng.uniform(-2, 2) for _ in range(8)], [rng.uniform(-2, 2) for _ in range(8)]
    b = 0.25
    tw = torch.tensor(w, dtype=torch.float64, requires_grad=True)
    tx = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    (torch.sigmoid(tb + (tw * tx).sum()) * 3).backward()
    vw, vx, vb = [Value(v) for v in w], [Value(v) for v in x], Value(b)
    (Value.weighted_sum(vw, vx, vb).sigmoid() * 3).backward()
    assert [v.grad for v in vw] == pytest.approx(tw.grad.tolist(), rel=1e-12)
    assert [v.grad for v in vx] == pytest.approx(tx.grad.tolist(), rel=1e-12)
    assert vb.grad == pytest.approx(tb.grad.item(), rel=1e-12)


def test_weighted_sum_accumulates_when_an_input_repeats(mg):
    # f = b + w1 a + w2 a with a used twice: df/da = w1 + w2 = 2 + 3 = 5, df/dw1 = df/dw2 = a = 4
    Value = mg.engine.Value
    a, w1, w2, b = Value(4.0), Value(2.0), Value(3.0), Value(1.0)
    out = Value.weighted_sum([w1, w2], [a, a], b)
    out.backward()
    assert out.data == 21.0  # 1 + 8 + 12
    assert (a.grad, w1.grad, w2.grad, b.grad) == (5.0, 4.0, 4.0, 1.0)


def test_a_neuron_takes_plain_numbers_and_checks_lengths(mg):
    Value = mg.engine.Value
    neuron = mg.nn.Neuron(2, activation="linear")
    neuron.w[0].data, neuron.w[1].data, neuron.b.data = 2.0, -1.0, 1.0
    out = neuron([3, 0.5])  # 1 + 6 - 0.5
    assert out.data == 6.5
    out.backward()
    assert [v.grad for v in neuron.w] == [3.0, 0.5]
    with pytest.raises(ValueError, match="a weighted sum of 2 weights takes 2 inputs, got 3"):
        Value.weighted_sum(neuron.w, [Value(1.0), Value(2.0), Value(3.0)], Value(0.0))
    with pytest.raises(TypeError):
        neuron(["1", 2.0])


def test_weighted_sum_lists_its_children_as_bias_weights_inputs(mg):
    Value = mg.engine.Value
    w, x, b = [Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)], Value(5.0)
    out = Value.weighted_sum(w, x, b)
    assert out._prev == (b, w[0], w[1], x[0], x[1])
    assert mg.engine.Value.weighted_sum([], [], b)._prev == (b,)


def test_a_layer_turns_plain_numbers_into_values_once_for_all_its_neurons(mg):
    random.seed(4)
    layer = mg.nn.Layer(3, 4, activation="relu")
    Value = mg.engine.Value
    a = Value(1.0)
    sums = layer([a, -2.0, 0.5])  # each neuron: one node, the relu of a weighted sum
    for neuron, total in zip(layer.neurons, sums):
        bias, *weights = total._prev[:4]
        assert bias is neuron.b and weights == neuron.w
        assert total._prev[4] is a  # a Value is passed on as it is
    assert len({id(total._prev[5]) for total in sums}) == 1  # -2.0 became one leaf, shared


def test_drawing_and_walking_see_every_child_of_a_weighted_sum(mg):
    random.seed(6)
    Value = mg.engine.Value
    neuron = mg.nn.Neuron(3, activation="relu")
    out = neuron([Value(1.0), Value(2.0), Value(-0.5)])
    nodes, edges = mg.viz.trace(out)
    # the neuron's node and 7 leaves (bias, 3 weights, 3 inputs), an edge from each leaf
    assert len(nodes) == 8 and len(edges) == 7


# ---------------------------------------------------------------- only where gradients flow


@pytest.mark.parametrize("a, calls, gradient", [(-2.0, 0, 0.0), (2.0, 1, 3.0)])
def test_backward_runs_no_rule_behind_an_off_relu(mg, a, calls, gradient):
    # y = 3a made the lecture's way, its rule counting its calls; d relu(3a)/da = 3 for a > 0, else 0
    Value = mg.engine.Value
    x, ran = Value(a), []
    y = Value(3 * a, (x,), "3a")

    def rule():
        ran.append(y)
        x.grad += 3 * y.grad

    y._backward = rule
    y.relu().backward()
    assert (len(ran), x.grad) == (calls, gradient)


def test_a_node_behind_an_off_relu_still_gets_what_other_paths_send(mg):
    # h = 2a = -2, out = relu(h) + 5h: d out/da = 0 * 2 + 5 * 2 = 10
    Value = mg.engine.Value
    a = Value(-1.0)
    h = a * 2.0
    out = h.relu() + h * 5.0
    out.backward()
    assert (out.data, h.grad, a.grad) == (-10.0, 5.0, 10.0)


def test_a_gradient_left_over_is_not_handed_on_again_behind_an_off_relu(mg):
    # y = 2x: dy/dx = 2; then z = relu(y - 10) = relu(-8): dz/dx = 0, so x.grad stays 2 + 0
    Value = mg.engine.Value
    x = Value(1.0)
    y = x * 2.0
    y.backward()
    (y - 10.0).relu().backward()
    assert x.grad == 2.0


def test_an_off_relu_neuron_hands_nothing_back_and_an_on_one_its_sum_rule(mg):
    # relu(b + w x) with w = 2, x = 3: on for b = -5 (sum 1), off for b = -7 (sum -1)
    Value = mg.engine.Value
    for bias, grads in [(-5.0, (3.0, 2.0, 1.0)), (-7.0, (0.0, 0.0, 0.0))]:
        w, x, b = Value(2.0), Value(3.0), Value(bias)
        Value.weighted_sum([w], [x], b, relu=True).backward()
        assert (w.grad, x.grad, b.grad) == grads


# ---------------------------------------------------------------- the rules table


@pytest.mark.parametrize("exponent", [2, 3, -1, 0.5, -1.5, 1e-3, Fraction(1, 3)])
def test_power_keeps_its_exponent_in_its_rule_and_label(mg, exponent):
    x = mg.engine.Value(1.7)
    y = x**exponent
    assert y._prev == (x,) and y._op == f"**{exponent}"  # the original's label: **2, **-1, ...
    y.backward()
    n = float(exponent)
    assert x.grad == pytest.approx(n * 1.7 ** (n - 1), rel=1e-12)  # d x^n/dx = n x^(n-1)
    assert x.grad == pytest.approx(central_difference(lambda p: p[0] ** n, [1.7], 0), rel=1e-6)


def test_backward_rule_can_be_run_by_hand(mg):
    # d(a * b)/da = b = -3 and d(a * b)/db = a = 2, for an arriving gradient of 1
    Value = mg.engine.Value
    a, b = Value(2.0), Value(-3.0)
    out = a * b
    out.grad = 1.0
    out._backward()
    assert (a.grad, b.grad) == (-3.0, 2.0)
    a._backward()  # a leaf: nothing to do, and no error
    assert a.grad == -3.0


# ---------------------------------------------------------------- the chapter's exercise


def test_exercise_counts_of_a_step_on_twenty_points(mg):
    # Derived by hand from chapter 10's loss on 20 points:
    # - per point, 16 + 16 ReLU neurons, one node each, and the output's weighted sum;
    # - the hinge relu(1 - y * score): y * score (*), its negation (* -1), 1 + that (+), a relu,
    #   and three constant leaves y, -1 and 1;
    # - the mean: 20 additions from sum's 0 (a leaf), and one product by 1/20 (a leaf);
    # - the L2 penalty: 337 squares, 337 additions from 0 (a leaf), the product by alpha (a leaf);
    # - the final sum of the two (+); the leaves: 337 parameters and 2 inputs per point.
    points, labels = bench.moons()
    graph = bench.loss_of(bench.new_model(mg), points[:20], labels[:20])
    ops, stack, seen = [], [graph], {id(graph)}
    while stack:
        node = stack.pop()
        ops.append(node._op)
        for child in node._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    expected = {"relu(dot)": 32 * 20, "dot": 20, "relu": 20,
                "*": 2 * 20 + 1 + 337 + 1, "+": 20 + 20 + 337 + 1,
                "": 337 + 2 * 20 + 3 * 20 + 1 + 1 + 1 + 1}
    assert {op: ops.count(op) for op in set(ops)} == expected
    assert len(ops) == 1878 == sum(expected.values())
