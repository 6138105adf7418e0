"""The roles a form gives some of its fields, declared in the form file, not known to Python.

`identity` says which fields identify a submission (unit, year, code) and which further fields
only say who filled it in; `plausibility` which amounts are the budget total that an amount typed
in 元 instead of 万元 stands out against.  Another region's form names its own fields and keeps
these checks; a name that is not a field of the form, or a field of the wrong type, is a
`FrameworkError` naming the key path."""

from __future__ import annotations

import difflib

from jixiao.framework.model import Field, Identity, Plausibility
from jixiao.framework.spec import FrameworkError, Spec, describe_value


def load_identity(spec: Spec, fields: dict[str, Field]) -> Identity:
    s = spec.sub("identity")
    unit = _field(s, "unit", fields, "text")
    year = _field(s, "year", fields, "year")
    code = _field(s, "code", fields, "text") if s.has("code") else None
    details = tuple(_names(s, "details", fields, required=False))
    s.done()
    named = [unit, year, *([code] if code else []), *details]
    twice = sorted({n for n in named if named.count(n) > 1})
    if twice:
        raise FrameworkError(s.where, "字段 " + "、".join(f"“{n}”" for n in twice) + " 出现了不止一次")
    return Identity(unit=unit, year=year, code=code, details=details)


def load_plausibility(spec: Spec, fields: dict[str, Field]) -> Plausibility | None:
    if not spec.has("plausibility"):
        return None  # a form without it: no 元/万元 check
    s = spec.sub("plausibility")
    budget = tuple(_names(s, "budget", fields, required=True, ftype="amount"))
    times = s.req("times", float)
    at_least = s.req("at_least", float)
    if times <= 1:
        raise FrameworkError(s.at("times"), f"应为大于1的倍数，实际为 {times:g}")
    if at_least < 0:
        raise FrameworkError(s.at("at_least"), f"应不小于0，实际为 {at_least:g}")
    s.done()
    return Plausibility(budget=budget, times=times, at_least=at_least)


def _names(s: Spec, key: str, fields: dict[str, Field], *, required: bool, ftype: str | None = None) -> list[str]:
    items = s.req(key, list) if required else s.opt(key, list, [])
    if required and not items:
        raise FrameworkError(s.at(key), "至少需要一个字段 id")
    return [_check(f"{s.at(key)}[{i}]", item, fields, ftype) for i, item in enumerate(items)]


def _field(s: Spec, key: str, fields: dict[str, Field], ftype: str) -> str:
    return _check(s.at(key), s.req(key), fields, ftype)


def _check(where: str, name: object, fields: dict[str, Field], ftype: str | None) -> str:
    if not isinstance(name, str):
        raise FrameworkError(where, f"应为字段 id（文本），实际为 {describe_value(name)}")
    if name not in fields:
        close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.6)
        hint = f"（是否为 {close[0]}？）" if close else ""
        raise FrameworkError(where, f"引用的字段 “{name}” 不是本表的输入字段{hint}")
    field = fields[name]
    if ftype is not None and field.type != ftype:
        raise FrameworkError(where, f"字段 “{name}”（{field.label}）的类型为 {field.type}，这里应为 {ftype}")
    return name
