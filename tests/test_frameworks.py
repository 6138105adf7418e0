"""Re-weighting and new rules need no code: framework files in tests/frameworks/ change points,
rule kinds, tiers and grades, and the engine and the generated workbook both follow.

Each file is the built-in framework with a few edits (see the comment at the top of each file);
they all name the built-in form `shenzhen-form-2021`.  Expected scores are computed by hand in
the comments, from the Futian sample (src/jixiao/samples/futian-2021.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jixiao.data import read_data_file, validate_data
from jixiao.engine import score
from jixiao.framework.loader import load_framework
from jixiao.samples import sample_path
from jixiao.workbook.generator import build_workbook

FRAMEWORKS = Path(__file__).parent / "frameworks"


def framework(name: str):
    return load_framework(FRAMEWORKS / f"{name}.yaml")


def futian(fw, **changes: Any) -> dict[str, Any]:
    """The Futian sample as inputs of `fw`: keys `fw` does not know are left out (a framework
    with other judgements would refuse them), then `changes`; validated like a data file."""
    raw = read_data_file(sample_path("futian"))
    data = {k: v for k, v in raw.items() if k in fw.fields}
    data.update(changes)
    return validate_data(fw, data, "futian")


def points_add_up(fw) -> None:
    assert sum(l1.points for l1 in fw.level1) == fw.total_points == 100
    for l1 in fw.level1:
        assert sum(l2.points for l2 in l1.children) == l1.points
        for l2 in l1.children:
            assert sum(i.points for i in l2.indicators) == l2.points


def scores(card) -> dict[str, float]:
    return {i.id: i.score for i in card.indicators}


# --------------------------------------------------------------------------- execution-rate

def test_execution_rate_loads():
    fw = framework("execution-rate")
    assert fw.id == "test-execution-rate"
    assert fw.form.id == "shenzhen-form-2021"
    points_add_up(fw)
    ind = {i.id: i for i in fw.indicators}
    assert ind["budget_execution"].rule.kind == "rate"
    assert ind["budget_execution"].points == 10
    assert ind["key_tasks"].points == 4
    assert [l2.points for l2 in fw.level1[2].children] == [6, 20, 25, 9]


def test_execution_rate_futian():
    fw = framework("execution-rate")
    card = score(fw, futian(fw))
    got = scores(card)
    # 预算执行率 = 4228.15 / 4384.99 = 0.964233 (6 decimals) → 0.964233 × 10 = 9.64233 → 9.64 of 10
    assert card.indicator("budget_execution").measures == {"exec_rate": 0.964233}
    assert got["budget_execution"] == 9.64
    assert card.indicator("budget_execution").explanation == "预算执行率=4228.15万元/4384.99万元=96.42%，得9.64分。"
    # 重点工作: no unfinished task → the full (new) 4 points
    assert got["key_tasks"] == 4
    # built-in 94.79 − quarterly 5.82 − key tasks 8 + 9.64 + 4 = 94.61
    assert card.level2["效率性"] == 19.64  # 9.64 + 4 + 6
    assert card.total == 94.61
    assert card.grade == "优"


@pytest.mark.parametrize("actual, expected", [
    (4384.99, 10),      # 100% → full points
    (5000, 10),         # above 100%: capped (above_one: cap)
    (2192.495, 5),      # exactly 50% → 5
    (0, 0),
])
def test_execution_rate_cap(actual, expected):
    fw = framework("execution-rate")
    card = score(fw, futian(fw, exec_total_actual=actual))
    assert card.indicator("budget_execution").score == expected


# --------------------------------------------------------------------------- staff-limit

def test_staff_limit_loads():
    fw = framework("staff-limit")
    assert fw.id == "test-staff-limit"
    points_add_up(fw)
    ind = next(i for i in fw.indicators if i.id == "staff_control")
    assert ind.name == "在职人员控制率"
    assert ind.rule.kind == "limit"
    assert (ind.rule.limit, ind.rule.per_point) == (1.0, 0.1)


def test_staff_limit_futian():
    fw = framework("staff-limit")
    card = score(fw, futian(fw))
    # 12 / 13 = 92.31% ≤ 100% → 1 point; nothing else changed: the built-in 94.79
    assert card.indicator("staff_control").score == 1
    assert card.indicator("staff_control").explanation == "在职人员控制率=12/13=92.31%，未超过100%，得1分。"
    assert card.total == 94.79


@pytest.mark.parametrize("established, quota, expected", [
    (13, 13, 1),        # 100% exactly → 1
    (14, 13, 0.23),     # 14/13 = 1.076923 → 7.6923 points over × 0.1 = 0.76923 off → 0.23077 → 0.23
    (104, 100, 0.6),    # 4 points over → 0.4 off → 0.6
    (105, 100, 0.5),    # 5 points over → 0.5 off
    (110, 100, 0),      # 10 points over → 1 off → 0
    (150, 100, 0),      # far over: not below 0
])
def test_staff_limit_rule(established, quota, expected):
    fw = framework("staff-limit")
    card = score(fw, futian(fw, staff_established=established, staff_quota=quota))
    assert card.indicator("staff_control").score == expected
    # the built-in framework gives 0 for anything over 100%
    builtin = load_framework()
    assert score(builtin, futian(builtin, staff_established=established, staff_quota=quota)) \
        .indicator("staff_control").score == (1 if established <= quota else 0)


# --------------------------------------------------------------------------- reweighted

# 效果性 is now worth 20: Futian's self-assessed 24 of 25 would be refused (more than 20), so the
# inputs carry it scaled: 24/25 × 20 = 19.2.
REWEIGHTED_EFFECT = 19.2


def test_reweighted_loads():
    fw = framework("reweighted")
    assert fw.id == "test-reweighted"
    points_add_up(fw)
    assert {l2.name: l2.points for l2 in fw.level1[2].children} == {"经济性": 6, "效率性": 20, "效果性": 20, "公平性": 14}
    assert [(g.name, g.minimum) for g in fw.grades] == [("优秀", 95), ("良好", 85), ("合格", 70), ("不合格", 0)]
    tiers = next(i for i in fw.indicators if i.id == "fixed_asset_utilisation").rule
    assert [at for _, at, _ in tiers.bands] == [0.9, 0.75, 0.6, 0.5]


def test_reweighted_refuses_futian_effect_score():
    from jixiao.data import DataError

    fw = framework("reweighted")
    with pytest.raises(DataError) as err:
        futian(fw, effectiveness=24)
    assert [i.field_id for i in err.value.issues] == ["effectiveness"]
    assert "大于20" in err.value.issues[0].message


def test_reweighted_futian():
    fw = framework("reweighted")
    card = score(fw, futian(fw, effectiveness=REWEIGHTED_EFFECT))
    got = scores(card)
    assert got["effectiveness"] == 19.2
    # 满意度 95% ≥ 95% → 11 (the top tier, now 11 points)
    assert got["satisfaction"] == 11
    assert card.level2["公平性"] == 14   # 信访 3 + 满意度 11
    assert card.level2["效果性"] == 19.2
    # built-in 94.79 − 24 + 19.2 − 6 + 11 = 94.99: below the new 优秀 line of 95
    assert card.total == 94.99
    assert card.grade == "良好"


@pytest.mark.parametrize("in_use, expected", [
    (1314.44, 1),       # 93.74% → 1 (unchanged)
    (841.344, 0.4),     # 60% exactly → 0.4
    (841.3, 0.2),       # 59.997% → the new tier
    (701.12, 0.2),      # 50% exactly → 0.2 (was 0)
    (701.1, 0),         # 49.9986% → 0
])
def test_reweighted_new_tier(in_use, expected):
    fw = framework("reweighted")
    card = score(fw, futian(fw, effectiveness=REWEIGHTED_EFFECT, fa_total_in_use=in_use))
    assert card.indicator("fixed_asset_utilisation").score == expected


@pytest.mark.parametrize("total_wanted, grade", [(95, "优秀"), (94.99, "良好"), (85, "良好"), (84.99, "合格"),
                                                 (70, "合格"), (69.99, "不合格")])
def test_reweighted_grades(total_wanted, grade):
    # Move the total (94.99 with 效果性 19.2) with the manual 效果性 score, and below 75 also
    # with two unfinished 重点工作 (−8).
    fw = framework("reweighted")
    key_tasks = 2 if total_wanted < 80 else 0
    effect = round(REWEIGHTED_EFFECT + total_wanted - 94.99 + 4 * key_tasks, 2)
    card = score(fw, futian(fw, effectiveness=effect, key_tasks_count=key_tasks))
    assert card.total == total_wanted
    assert card.grade == grade


# --------------------------------------------------------------------------- workbook = engine

# One workbook per framework, each evaluated once with `formulas` (about 1.5 s each).
WORKBOOK_CASES = {
    # Futian as it is: 预算执行率 9.64, total 94.61
    "execution-rate": ({}, {"budget_execution": 9.64}, 94.61),
    # 14 in post for 13 posts → 0.23 (built-in: 0) instead of Futian's 1; total 94.79 − 1 + 0.23 = 94.02
    "staff-limit": ({"staff_established": 14}, {"staff_control": 0.23}, 94.02),
    # 在用 701.12 of 1402.24 = 50% → the new 0.2 tier; total 94.99 − 1 + 0.2 = 94.19
    "reweighted": ({"effectiveness": REWEIGHTED_EFFECT, "fa_total_in_use": 701.12},
                   {"fixed_asset_utilisation": 0.2, "satisfaction": 11}, 94.19),
}


@pytest.mark.parametrize("name", list(WORKBOOK_CASES))
def test_workbook_formulas_match_engine(name, tmp_path):
    from jixiao.verify.formulas_oracle import evaluate_file

    changes, expected, total = WORKBOOK_CASES[name]
    fw = framework(name)
    data = futian(fw, **changes)
    card = score(fw, data)
    for iid, value in expected.items():
        assert card.indicator(iid).score == value
    assert card.total == total

    built = build_workbook(fw, data)
    path = tmp_path / f"{name}.xlsx"
    built.save(path)
    evaluated = evaluate_file(path)

    def cell(cell_id: str) -> Any:
        place = built.computed[cell_id]
        return evaluated[place.sheet][place.coord]

    for ind in card.indicators:
        assert cell(f"score.{ind.id}") == pytest.approx(ind.score, abs=1e-9), ind.id
        assert cell(f"text.{ind.id}") == ind.explanation, ind.id
    for l2, value in card.level2.items():
        assert cell(f"level2.{l2}") == pytest.approx(value, abs=1e-9), l2
    for l1, value in card.level1.items():
        assert cell(f"level1.{l1}") == pytest.approx(value, abs=1e-9), l1
    assert cell("total") == pytest.approx(total, abs=1e-9)
    assert cell("grade") == card.grade
