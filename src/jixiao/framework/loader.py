"""Loading and validating a framework file (and the form it names).

Validation is the point: points add up level by level to the total, thresholds are ordered,
every field a rule or check uses exists, ids are unique, unknown keys are refused.  A broken
file gets one `FrameworkError` naming the file, the indicator and the problem."""

from __future__ import annotations

import dataclasses
import hashlib
from functools import lru_cache
from pathlib import Path

from jixiao.cell_ids import grid_id, note_id
from jixiao.checks import build_check, required_checks, usable_number_checks
from jixiao.framework import field_types
from jixiao.framework.model import (
    FIELD_TYPES, Column, ComputedField, Field, Form, Framework, Grade, Indicator, Level1, Level2, Row, Sheet, Table,
)
from jixiao.framework.form_roles import load_identity, load_plausibility
from jixiao.framework.spec import FrameworkError, Spec
from jixiao.measures import Names, build_measure
from jixiao.rules import RuleContext, build_rule

BUILTIN = "shenzhen-district-2021"
_EPS = 1e-9


BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"  # importlib.resources costs ~10 ms at start


def builtin_path(name: str) -> Path:
    return BUILTIN_DIR / f"{name}.yaml"


@lru_cache(maxsize=1)
def _unique_key_loader() -> type:
    """safe_load, but a key given twice in one mapping is an error, not the last one winning.
    (PyYAML is imported only when a file is parsed: a cached framework needs none of it.)"""
    import yaml

    class _UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):  # type: ignore[override]
            seen: set = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"键 “{key}” 在同一映射中出现两次", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)

    return _UniqueKeyLoader


def _read_yaml(path: Path) -> tuple[dict, bytes]:
    import yaml

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FrameworkError(str(path), f"无法读取文件（{exc.strerror}）") from None
    try:
        data = yaml.load(raw, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path} 第{mark.line + 1}行第{mark.column + 1}列" if mark else str(path)
        raise FrameworkError(where, f"YAML 格式错误：{getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise FrameworkError(str(path), "文件内容应为映射（键: 值）")
    return data, raw


def load_framework(source: str | Path | None = None) -> Framework:
    """A framework by built-in name or file path (default: the built-in 2021 framework)."""
    path = builtin_path(source or BUILTIN) if source is None or not _looks_like_path(source) else Path(source)
    if not path.exists() and source is not None and not _looks_like_path(source):
        raise FrameworkError(str(source), "没有这个内置框架，也没有这个文件")
    return _load_cached(str(path.resolve()), path.stat().st_mtime_ns if path.exists() else 0)


def _looks_like_path(source: str | Path) -> bool:
    return isinstance(source, Path) or "/" in source or "\\" in source or source.endswith((".yaml", ".yml"))


@lru_cache(maxsize=16)
def _load_cached(path: str, mtime: int) -> Framework:
    from jixiao.framework import cache

    return cache.load(Path(path), _load_with_form)


def _load(path: Path) -> Framework:
    return _load_with_form(path)[0]


def _load_with_form(path: Path) -> tuple[Framework, Path]:
    """Parsed and validated, with the path of the form file it read."""
    data, raw = _read_yaml(path)
    top = Spec(data, path.name)
    form_name = top.req("form")
    form_path = path.parent / f"{form_name}.yaml"
    if not form_path.exists():
        form_path = builtin_path(form_name)
    if not form_path.exists():
        raise FrameworkError(top.at("form"), f"找不到基础数据表定义 “{form_name}”（{form_path.name}）")
    form_data, form_raw = _read_yaml(form_path)
    form_spec = Spec(form_data, form_path.name)
    form, fields = _load_form(form_spec)

    total = top.req("total_points", float)
    score_decimals = top.opt("score_decimals", int, 2)
    # None (the default): ratios are not rounded; compared and multiplied at 15 significant digits
    ratio_decimals = top.opt("ratio_decimals", int, None)
    grades = _load_grades(top)

    measures: dict = {}
    names = Names(fields, measures)
    level1s: list[Level1] = []
    seen_ids: set[str] = set()
    seen_names: set[str] = set()  # level names are the ids of their subtotal cells

    def unique_name(spec: Spec, name: str, level: str) -> str:
        if name in seen_names:
            raise FrameworkError(spec.at("name"), f"{level}名称 “{name}” 重复")
        seen_names.add(name)
        return name

    for l1 in top.subs("level1"):
        l1_name, l1_points = unique_name(l1, l1.req("name"), "一级指标"), l1.req("points", float)
        children = []
        for l2 in l1.subs("level2"):
            l2_name, l2_points = unique_name(l2, l2.req("name"), "二级指标"), l2.req("points", float)
            indicators = [_load_indicator(s, l1_name, l2_name, names, fields, seen_ids,
                                          score_decimals, ratio_decimals)
                          for s in l2.subs("indicators")]
            _points_add_up(l2, f"二级指标“{l2_name}”", l2_points, [i.points for i in indicators])
            l2.done()
            children.append(Level2(l2_name, l2_points, indicators))
        _points_add_up(l1, f"一级指标“{l1_name}”", l1_points, [c.points for c in children])
        l1.done()
        level1s.append(Level1(l1_name, l1_points, children))
    _points_add_up(top, "框架总分", total, [l.points for l in level1s])

    _score_inputs_required(fields, level1s, names)
    checks = required_checks(list(fields.values())) + usable_number_checks(list(fields.values()))
    check_ids = {c.id for c in checks}
    for spec in form_spec.subs("checks", required=False) + top.subs("checks", required=False):
        check = build_check(spec, names)
        if check.id in check_ids:
            raise FrameworkError(spec.at("id"), f"审核 id “{check.id}” 重复")
        check_ids.add(check.id)
        checks.append(check)
    form_spec.done()

    framework = Framework(
        id=top.req("id"), title=top.req("title"), version=top.req("version"),
        digest=hashlib.sha256(raw + b"\0" + form_raw).hexdigest(),
        form=form, total_points=total, score_decimals=score_decimals, ratio_decimals=ratio_decimals,
        grades=grades, level1=level1s, checks=checks, fields=fields,
    )
    top.done()
    return framework, form_path


def _points_add_up(spec: Spec, what: str, points: float, parts: list[float]) -> None:
    if abs(sum(parts) - points) > _EPS:
        listed = "+".join(f"{p:g}" for p in parts)
        raise FrameworkError(spec.where, f"{what}的参考分值为 {points:g}，但下级分值之和为 {listed} = {sum(parts):g}")


def _load_grades(top: Spec) -> list[Grade]:
    grades = []
    for g in top.subs("grades"):
        grades.append(Grade(g.req("name"), g.req("min", float)))
        g.done()
    if not grades:
        raise FrameworkError(top.at("grades"), "至少需要一个等级")
    mins = [g.minimum for g in grades]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        raise FrameworkError(top.at("grades"), "等级下限应从高到低排列且互不相同")
    if mins[-1] != 0:
        raise FrameworkError(top.at("grades"), "最低等级的下限应为 0，否则低分没有等级")
    return grades


def _kind(spec: Spec, ftype: str) -> field_types.FieldType:
    if ftype not in FIELD_TYPES:
        raise FrameworkError(spec.at("type"), f"未知的字段类型 “{ftype}”，可用：{'、'.join(sorted(FIELD_TYPES))}")
    return field_types.get(ftype)


def _field(spec: Spec, sheet: str, section: str, unit: str, **defaults: object) -> Field:
    ftype = spec.opt("type", str, defaults.get("type", "amount"))
    kind = _kind(spec, ftype)
    options = tuple(spec.opt("options", list, []))
    if kind.needs_options and not options:
        raise FrameworkError(spec.where, "选择型字段需要 options")
    field_unit = spec.opt("unit", str, kind.unit_in(unit))
    field = Field(
        id=spec.req("id"), label=spec.req("label"), type=ftype, unit=field_unit,
        required=spec.opt("required", bool, False), options=options,
        minimum=spec.opt("min", float, kind.default_minimum),
        maximum=spec.opt("max", float, kind.default_maximum),
        sheet=sheet, section=section,
    )
    spec.done()
    return field


def _add(fields: dict[str, Field], field: Field, where: str) -> None:
    if field.id in fields:
        raise FrameworkError(where, f"字段 id “{field.id}” 重复（已在 {fields[field.id].sheet}“{fields[field.id].section}”中）")
    fields[field.id] = field


def _load_form(spec: Spec) -> tuple[Form, dict[str, Field]]:
    fields: dict[str, Field] = {}
    sheets = []
    for s in spec.subs("sheets"):
        name = s.req("name")
        tables = []
        for t in s.subs("tables"):
            table = Table(title=t.req("title"), unit=t.opt("unit", str, ""))
            if t.has("fields"):
                for f in t.subs("fields"):
                    if f.has("computed"):
                        table.computed.append(_computed_field(f, table.unit))
                        continue
                    field = _field(f, name, table.title, table.unit)
                    _add(fields, field, f.where)
                    table.fields.append(field)
            else:
                for c in t.subs("columns"):
                    computed, den_row = None, None
                    if c.has("computed"):
                        comp = c.sub("computed")
                        computed = (comp.req("num"), comp.req("den"))
                        den_row = comp.opt("den_row", str, None)
                        comp.done()
                    ctype = c.opt("type", str, "amount")
                    _kind(c, ctype)
                    table.columns.append(Column(c.req("id"), c.req("label"), ctype, computed,
                                                optional=c.opt("optional", bool, False), den_row=den_row))
                    c.done()
                input_cols = {c.id for c in table.columns if not c.computed}
                for c in table.columns:
                    if c.computed and not set(c.computed) <= input_cols:
                        raise FrameworkError(t.at("columns"), f"计算列“{c.label}”引用了不存在的列")
                for r in t.subs("rows"):
                    row = Row(r.req("id"), r.req("label"), r.opt("required", bool, False))
                    r.done()
                    table.rows.append(row)
                    for c in table.columns:
                        if not c.computed:
                            kind = field_types.get(c.type)
                            field = Field(id=grid_id(row.id, c.id), label=f"{row.label.strip('　')}：{c.label}",
                                          type=c.type, unit=kind.unit_in(table.unit),
                                          required=row.required and not c.optional,
                                          minimum=kind.default_minimum, maximum=kind.default_maximum,
                                          sheet=name, section=table.title)
                            _add(fields, field, r.where)
            t.done()
            tables.append(table)
        s.done()
        sheets.append(Sheet(name, tables))
    for sheet in sheets:
        for table in sheet.tables:
            for c in table.columns:
                if c.den_row and c.den_row not in {r.id for r in table.rows}:
                    raise FrameworkError(f"{spec.where} {table.title}", f"计算列“{c.label}”的 den_row “{c.den_row}” 不是本表的行")
            for cf in table.computed:
                missing = [n for n in cf.minus if n not in fields]
                if missing:
                    raise FrameworkError(f"{spec.where} {table.title}", f"计算项“{cf.label}”引用了不存在的字段 {'、'.join(missing)}")
                if cf.id in fields:
                    raise FrameworkError(f"{spec.where} {table.title}", f"计算项 id “{cf.id}” 与字段重复")
    form = Form(spec.req("id"), spec.req("title"), sheets,
                identity=load_identity(spec, fields), plausibility=load_plausibility(spec, fields))
    return form, fields


def _computed_field(spec: Spec, unit: str) -> ComputedField:
    comp = spec.sub("computed")
    minus = comp.req("minus", list)
    if len(minus) != 2 or not all(isinstance(m, str) for m in minus):
        raise FrameworkError(comp.at("minus"), "应为两个字段 id：[被减数, 减数]")
    comp.done()
    cf = ComputedField(spec.req("id"), spec.req("label"), (minus[0], minus[1]), spec.opt("unit", str, unit))
    spec.done()
    return cf


def _score_inputs_required(fields: dict[str, Field], level1s: list[Level1], names: Names) -> None:
    """Every input a score depends on is required, unless a measure shows what its blank
    means (e.g. 调整、调剂资金累计 blank → |调整预算数 − 年初预算数|): an empty 满意度 must not
    silently score the lowest band, nor empty project counts the full points."""
    optional: set[str] = set()
    for m in names.measures.values():
        optional |= set(m.optional_inputs())
    todo = [n for l1 in level1s for l2 in l1.children for ind in l2.indicators for n in ind.rule.score().names()]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in names.measures:
            todo.extend(names.measures[name].expr().names())
        elif name in fields and not fields[name].required and name not in optional:
            fields[name] = dataclasses.replace(fields[name], required=True)
    for l1 in level1s:
        for l2 in l1.children:
            for ind in l2.indicators:
                ind.inputs[:] = [fields.get(f.id, f) for f in ind.inputs]


def _load_indicator(spec: Spec, l1: str, l2: str, names: Names, fields: dict[str, Field],
                    seen: set[str], score_decimals: int, ratio_decimals: int) -> Indicator:
    iid = spec.req("id")
    where = f"指标 {iid}（{spec.data.get('name', '')}）"
    spec.where = f"{spec.where} {where}"
    if iid in seen:
        raise FrameworkError(spec.at("id"), f"指标 id “{iid}” 重复")
    seen.add(iid)
    name, points = spec.req("name"), spec.req("points", float)
    inputs = []
    for f in spec.subs("inputs", required=False):
        field = _field(f, "评分要素", name, "", type="count")
        _add(fields, field, f.where)
        inputs.append(field)
    measures = []
    for m in spec.subs("measures", required=False):
        measure = build_measure(m, names, ratio_decimals)
        if names.exists(measure.id):
            raise FrameworkError(m.at("id"), f"计算项 id “{measure.id}” 与已有字段或计算项重复")
        names.measures[measure.id] = measure
        measures.append(measure)
    ctx = RuleContext(names=names, indicator_name=name, score_decimals=score_decimals)
    rule = build_rule(spec.sub("rule"), iid, points, ctx)
    for field in rule.judgements():
        _add(fields, field, spec.at("rule"))
    # The unit's own 整改情况说明 beside each score on the 评分表.
    _add(fields, Field(id=note_id(iid), label="扣分原因及整改情况说明", type="text", sheet="评分表", section=name),
         spec.where)
    indicator = Indicator(
        id=iid, name=name, points=points, description=spec.req("description"), criteria=spec.req("criteria"),
        level1=l1, level2=l2, rule=rule, measures=measures, inputs=inputs + rule.judgements(),
    )
    spec.done()
    return indicator
