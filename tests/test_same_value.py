"""numeric.same_cell_value / same_number / same_text: the one definition of an equal cached
result (checker, add-in, demo, tests)."""

from __future__ import annotations

import pytest

from jixiao.numeric import same_cell_value, same_number, same_text


@pytest.mark.parametrize("a, b, same", [
    (0.1 + 0.2, 0.3, True),  # floating-point noise
    (0.9743912198468045, 0.974391219846804, True),  # LibreOffice: 15th digit one off
    (0.9743912198468045, 0.974391219846806, True),
    (0.9743912198468045, 0.974391219846807, False),
    (4.07459461305905e-07, 4.07459461305906e-07, True),
    (94.79, 94.8, False), (1.97, 1.98, False), (0.0, 1e-300, False), (100.0, 100.00000000000001, True),
    (99.9999999999999, 100.0, True), (99.9999999999998, 100.0, False),
])
def test_same_number(a: float, b: float, same: bool) -> None:
    assert same_number(a, b) is same
    assert same_number(b, a) is same
    assert same_cell_value(a, b) is same


def test_same_cell_value_types() -> None:
    assert same_cell_value(None, "") and same_cell_value("", None)
    assert not same_cell_value("1", 1.0) and not same_cell_value(True, 1.0)
    assert not same_cell_value("55.97%", "55.98%")  # texts: exact; explanations use same_text


@pytest.mark.parametrize("a, b, same", [
    ("率=55.97%，得1分。", "率=55.98%，得1分。", True),  # a half-way percentage shown the other way
    ("率=55.97%，得1分。", "率=55.99%，得1分。", False),
    ("率=56%", "率=57%", False),  # no decimals: not a display rounding of a half
    ("率=55.97%，得0.56分。", "率=55.97%，得0.57分。", False),  # a score in the text is not display
    ("=|1200.7−1113.25|=87.4500000000001万元", "=|1200.7−1113.25|=87.45万元", True),
    ("得1分", "得1分。", False), ("甲55.97%", "乙55.98%", False),
    ("0.5%与1.25%", "0.6%与1.25%", True), ("1.25%", "1.250%", False),
])
def test_same_text(a: str, b: str, same: bool) -> None:
    assert same_text(a, b) is same
    assert same_text(b, a) is same
