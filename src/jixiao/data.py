"""Data files for `jixiao fill`: a YAML or JSON mapping of field id → value.

Strict, because a data file is written by a program or by someone who can fix it: an unknown
field, a word where a number belongs, an answer that is not one of the options are errors,
each naming the file, the field id and label, what was expected and what was found."""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jixiao.framework.field_types import FieldError
from jixiao.framework.model import Field, Framework


@dataclass(frozen=True)
class DataIssue:
    source: str
    field_id: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}：字段 {self.field_id}" if self.field_id else self.source
        return f"{where}：{self.message}"


class DataError(ValueError):
    def __init__(self, issues: list[DataIssue]):
        super().__init__("\n".join(str(i) for i in issues))
        self.issues = issues


def read_data_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError([DataIssue(source, "", "文件不存在")]) from None
    except UnicodeDecodeError:
        raise DataError([DataIssue(source, "", "文件不是 UTF-8 编码的文本")]) from None
    except OSError as exc:
        raise DataError([DataIssue(source, "", f"无法读取（{exc.strerror}）")]) from None
    duplicates: list[DataIssue] = []
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text, object_pairs_hook=_JsonPairs(source, text, duplicates))
        else:
            data = yaml.load(text, Loader=_loader(source, duplicates))  # noqa: S506 - a SafeLoader subclass
    except json.JSONDecodeError as exc:
        raise DataError([DataIssue(source, "", f"JSON 格式错误：第{exc.lineno}行第{exc.colno}列 {exc.msg}")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"第{mark.line + 1}行第{mark.column + 1}列 " if mark else ""
        raise DataError([DataIssue(source, "", f"YAML 格式错误：{at}{getattr(exc, 'problem', exc)}")]) from None
    if duplicates:
        raise DataError(duplicates)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DataError([DataIssue(source, "", "内容应为“字段 id: 值”的映射")])
    return {str(k): v for k, v in data.items()}


def _duplicate(source: str, key: str, first: int, second: int) -> DataIssue:
    return DataIssue(source, key, f"出现了两次（第{first}行和第{second}行），不知以哪一行为准；请删除其中一行")


def _loader(source: str, duplicates: list[DataIssue]) -> type[yaml.SafeLoader]:
    """A SafeLoader that reports a key given twice in one mapping (PyYAML keeps the last)."""

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            lines: dict[Any, int] = {}
            for key_node, _value in node.value:
                try:
                    key = self.construct_object(key_node, deep=True)
                    hash(key)
                except (TypeError, yaml.YAMLError):
                    continue
                line = key_node.start_mark.line + 1
                if key in lines:
                    duplicates.append(_duplicate(source, str(key), lines[key], line))
                else:
                    lines[key] = line
            return super().construct_mapping(node, deep)

    return Loader


class _JsonPairs:
    """object_pairs_hook: a key given twice in one JSON object is an error naming both lines."""

    def __init__(self, source: str, text: str, duplicates: list[DataIssue]):
        self.source, self.text, self.duplicates = source, text, duplicates

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _value in pairs:
            if key in seen:
                lines = self._lines(key)
                first, second = (lines + [0, 0])[:2]
                self.duplicates.append(_duplicate(self.source, key, first, second))
            seen.add(key)
        return dict(pairs)

    def _lines(self, key: str) -> list[int]:
        pattern = re.compile(re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:")
        lines = [self.text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(self.text)]
        if len(lines) < 2:  # written with \u escapes
            pattern = re.compile(re.escape(json.dumps(key)) + r"\s*:")
            lines = [self.text.count("\n", 0, m.start()) + 1 for m in pattern.finditer(self.text)]
        return lines


def missing_required(framework: Framework, values: dict[str, Any]) -> list[Field]:
    """The required fields a data file leaves empty (a workbook is still made: 审核 flags them)."""
    return [f for f in framework.fields.values() if f.required and values.get(f.id) is None]


def coerce_value(field: Field, value: Any) -> tuple[Any, str | None]:
    """The value as the workbook stores it, or an error message (expected / found): the field
    type's strict coercion."""
    outcome = field.kind.coerce(field, value, "strict")
    if isinstance(outcome, FieldError):
        return None, outcome.message
    return outcome.value, None


def validate_data(framework: Framework, data: dict[str, Any], source: str = "数据") -> dict[str, Any]:
    """Field id → workbook value; raises DataError listing every problem at once."""
    issues: list[DataIssue] = []
    values: dict[str, Any] = {}
    for key, raw in data.items():
        field = framework.fields.get(key)
        if field is None:
            close = difflib.get_close_matches(key, framework.fields, n=1)
            hint = f"（是否为 {close[0]}？）" if close else ""
            issues.append(DataIssue(source, key, f"框架 {framework.id} 中没有这个字段{hint}"))
            continue
        value, problem = coerce_value(field, raw)
        if problem:
            issues.append(DataIssue(source, key, f"“{field.label}”{problem}"))
        elif value is not None:
            values[key] = value
    if issues:
        raise DataError(issues)
    return values


def load_data(framework: Framework, path: str | Path) -> dict[str, Any]:
    return validate_data(framework, read_data_file(path), str(path))
