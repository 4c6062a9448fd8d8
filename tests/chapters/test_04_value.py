"""Chapter 4, The Value class: values, and the graph the forward pass records."""
import pytest

pytestmark = pytest.mark.since("04-value")


def test_addition_records_its_inputs(mg):
    a = mg.engine.Value(2.0)
    b = a + 3
    assert b.data == 5.0  # 2 + 3 by hand
    assert b._op == "+"
    assert b._prev[0] is a and b._prev[1].data == 3.0
