"""Record the steps of backward() on the page's own engine, for the backward stepper (tools/static/stepper.js).

A cell tagged ``stepper`` runs again with the class's ``backward`` wrapped: when the cell calls
it, each node of the graph has its rule wrapped to note, in turn, the node and every node's
gradient after the rule ran; then the page's own ``backward`` runs as the reader wrote it, and
the rules are put back. Nothing here computes a gradient. A step whose rule runs before every
node that uses its node has run (so before all of its gradient can have arrived) is flagged,
and so are rules that never run or run twice. Standard library only: it runs in the page's
Python (Pyodide) and in the tests.
"""
from __future__ import annotations

import collections
import contextlib
import io
import json

MAX_NODES = 200  # a graph to step through by hand; every step keeps every node's grad


def graph(root) -> list:
    """Every node reachable from root, root first (a walk of _prev, in the order found)."""
    nodes, seen, todo = [], set(), collections.deque([root])
    while todo:
        node = todo.popleft()
        if id(node) not in seen:
            seen.add(id(node))
            nodes.append(node)
            todo.extend(node._prev)
    return nodes


def _wrap(node, ran):
    """Wrap node's rule so that calling it calls ran(node, rule): a function that puts it back, and where
    the rule is written in the book (book/x.md:LINE, for a node made by an operation; else None).

    The rule is the node's _backward (chapters 4 to 7), or its _rule when the engine has one
    (chapter 8's, whose backward calls node._rule(node) and whose _backward reads _rule).
    """
    if hasattr(type(node), "_rule"):
        rule = node._rule
        node._rule = lambda this: ran(node, lambda: rule(this))

        def put_back():
            node._rule = rule
    else:
        rule = node._backward
        node._backward = lambda: ran(node, rule)

        def put_back():
            node._backward = rule
    return put_back, _book_line(rule) if node._prev else None


def _book_line(rule) -> str | None:
    """The chapter line of the rule's first line, from the markers in the tangled file (micrograd.booktrace)."""
    from book_tracebacks import booktrace

    code = getattr(rule, "__code__", None)
    return booktrace.book_line(code.co_filename, code.co_firstlineno) if code else None


def record(root, run_backward, names: dict | None = None) -> dict:
    """Call run_backward() with the rules of root's graph wrapped; the graph and the steps, as data.

    names: {id(node): name} for the nodes that have one; the others are named by how they were
    made. Each step is {"node": index or None, "grads": every node's grad after it, "flag": what
    is wrong or None}; index None is backward's own work between rules (it sets the output's
    gradient to 1). Step 0 is the state before backward. "never": non-leaf nodes whose rule did not run.
    """
    nodes = graph(root)
    if len(nodes) > MAX_NODES:
        raise ValueError(f"the graph has {len(nodes)} nodes: the stepper shows graphs of up to {MAX_NODES}")
    index = {id(node): n for n, node in enumerate(nodes)}
    labels = _labels(nodes, index, names or {})
    users = [[] for _ in nodes]  # users[n]: the nodes made from node n
    for n, node in enumerate(nodes):
        for child in node._prev:
            if n not in users[index[id(child)]]:
                users[index[id(child)]].append(n)
    steps = [{"node": None, "grads": [node.grad for node in nodes], "flag": None}]
    done: list[int] = []

    def note(n):
        grads = [node.grad for node in nodes]
        if n is not None or grads != steps[-1]["grads"]:
            steps.append({"node": n, "grads": grads, "flag": None if n is None else _flag(n, labels, users, done)})

    def ran(node, rule):
        note(None)  # backward's own changes since the last rule, if any
        try:
            rule()
        finally:
            note(index[id(node)])
            done.append(index[id(node)])

    put_back, where = zip(*(_wrap(node, ran) for node in nodes)) if nodes else ((), ())
    try:
        run_backward()
    finally:
        for undo in put_back:
            undo()
    note(None)
    return {
        "nodes": [{"name": labels[n], "op": node._op, "data": node.data, "rule": where[n],
                   "children": [index[id(child)] for child in node._prev]} for n, node in enumerate(nodes)],
        "steps": steps,
        "never": [labels[n] for n, node in enumerate(nodes) if node._prev and n not in done],
    }


def _labels(nodes: list, index: dict, names: dict) -> list[str]:
    """Each node's name: the reader's, else how it was made from its children's ((a * b), tanh(n)), else its data."""
    labels: list[str | None] = [names.get(id(node)) for node in nodes]

    def label(n):
        if labels[n] is None:
            node = nodes[n]
            parts = [label(index[id(child)]) for child in node._prev]
            if not parts:
                labels[n] = f"{node.data:g}"
            elif len(parts) == 2:
                labels[n] = f"({parts[0]} {node._op} {parts[1]})"
            elif node._op.startswith("**"):
                labels[n] = f"{parts[0]}{node._op}"
            else:
                labels[n] = f"{node._op}({', '.join(parts)})"
        return labels[n]

    for n in reversed(range(len(nodes))):  # children first: a deep chain needs no deep recursion
        label(n)
    return labels


def _flag(n: int, labels: list[str], users: list, done: list[int]) -> str | None:
    if n in done:
        return f"{labels[n]}'s rule runs a second time: it passes its gradient on twice"
    waiting = [labels[k] for k in users[n] if k not in done]
    if waiting:
        return (f"too early: {', '.join(waiting)} {'uses' if len(waiting) == 1 else 'use'} {labels[n]} "
                f"but has not run its rule yet, so not all of {labels[n]}'s gradient has arrived")
    return None


def record_cell(source: str, namespace: dict) -> str:
    """Run a cell's source again in namespace, recording the first backward() it calls; the recording as JSON.

    The class's backward is wrapped while the cell runs, to record around the page's own
    backward, which runs unchanged; the names are the cell's names for the graph's nodes.
    """
    from micrograd.engine import Value

    original = Value.backward
    recordings = []

    def recording(self, *args, **kwargs):
        if recordings:  # only the first call is stepped through
            return original(self, *args, **kwargs)
        names = {id(value): name for name, value in namespace.items() if isinstance(value, Value)}
        result = []
        recordings.append(record(self, lambda: result.append(original(self, *args, **kwargs)), names))
        return result[0]

    Value.backward = recording
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the cell's own output is shown by its Run
            exec(compile(source, "<cell>", "exec"), namespace)
    finally:
        Value.backward = original
    if not recordings:
        raise ValueError("the cell does not call backward(): there is nothing to step through")
    return json.dumps(recordings[0])
