"""Reading a framework file's mappings with errors that say exactly where and what.

Every problem is a `FrameworkError` naming the file, the place inside it (指标 id and key path)
and what was expected, in the manner of pydantic's messages; unknown keys are errors too, so a
typo ("pionts") is caught instead of silently ignored."""

from __future__ import annotations

import difflib
from typing import Any


class FrameworkError(ValueError):
    def __init__(self, where: str, problem: str):
        super().__init__(f"{where}：{problem}")
        self.where, self.problem = where, problem


_TYPE_NAMES = {str: "文本", float: "数值", int: "整数", list: "列表", dict: "映射", bool: "是/否"}


class Spec:
    """A mapping from the file plus where it is, handing out values key by key."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise FrameworkError(where, f"应为映射（键: 值），实际为 {describe_value(data)}")
        self.data, self.where, self._used = data, where, set()

    def at(self, key: str) -> str:
        return f"{self.where}.{key}"

    def has(self, key: str) -> bool:
        return key in self.data

    def req(self, key: str, kind: type = str) -> Any:
        if key not in self.data:
            raise FrameworkError(self.where, f"缺少必需的键 “{key}”{self._typo_hint(key)}")
        return self._get(key, kind)

    def opt(self, key: str, kind: type = str, default: Any = None) -> Any:
        if key not in self.data or self.data[key] is None:
            self._used.add(key)
            return default
        return self._get(key, kind)

    def raw(self, key: str) -> Any:
        """A required value of any type, for the caller to check."""
        if key not in self.data:
            raise FrameworkError(self.where, f"缺少必需的键 “{key}”{self._typo_hint(key)}")
        self._used.add(key)
        return self.data[key]

    def sub(self, key: str) -> Spec:
        return Spec(self.req(key, dict), self.at(key))

    def subs(self, key: str, required: bool = True) -> list[Spec]:
        items = self.req(key, list) if required else self.opt(key, list, [])
        return [Spec(item, f"{self.at(key)}[{i}]") for i, item in enumerate(items)]

    def _get(self, key: str, kind: type) -> Any:
        self._used.add(key)
        value = self.data[key]
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if kind in (list, dict, bool) and isinstance(value, kind):
            return value
        raise FrameworkError(self.at(key), f"应为{_TYPE_NAMES.get(kind, kind.__name__)}，实际为 {describe_value(value)}")

    def _typo_hint(self, key: str) -> str:
        close = difflib.get_close_matches(key, [str(k) for k in self.data], n=1, cutoff=0.6)
        return f"（是否把 “{close[0]}” 写错了？）" if close else ""

    def done(self) -> None:
        unknown = [k for k in self.data if k not in self._used]
        if unknown:
            raise FrameworkError(self.where, "未知的键 " + "、".join(f"“{k}”" for k in unknown))


def describe_value(value: Any) -> str:
    """How a value in a YAML/JSON file looked, for “应为……，实际为……” (framework files and
    `jixiao fill` data files alike)."""
    if value is None:
        return "空"
    if isinstance(value, bool):
        return f"是/否值 {value}"
    if isinstance(value, (int, float)):
        return f"数值 {value:g}"
    if isinstance(value, str):
        return f"文本 “{value}”"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "映射"
    return f"{type(value).__name__} 类型的值"
