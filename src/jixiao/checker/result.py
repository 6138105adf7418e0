"""What a check finds, as data: the same object feeds the terminal report, `--json`, the
annotated copy, the add-in and the bulk importer.  `to_json` is the documented, stable schema
(docs/check-json.md); bump SCHEMA_VERSION on any incompatible change."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from jixiao.numeric import same_cell_value

SCHEMA_VERSION = 1

ERROR, WARNING, NOTE = "错误", "警告", "提示"
ACCEPTED, WARNED, REJECTED, UNREADABLE = "accepted", "accepted_with_warnings", "rejected", "unreadable"
STATUS_TEXT = {ACCEPTED: "通过", WARNED: "通过（有警告）", REJECTED: "不通过", UNREADABLE: "无法读取"}


@dataclass
class Message:
    level: str  # 错误 | 警告 | 提示
    code: str  # stable English code, e.g. formula_overwritten, cross_check, invalid_value
    text: str  # Chinese, complete on its own
    sheet: str | None = None
    cell: str | None = None
    field: str | None = None  # field or computed-cell id
    label: str | None = None
    # for a value that cannot be used, the field type's error record: what the cell should hold
    # and how what it holds looked (`framework.field_records.FieldError`)
    expected: str | None = None
    found: str | None = None

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.cell}" if self.sheet and self.cell else (self.sheet or "")


@dataclass
class IndicatorCheck:
    id: str
    name: str
    points: float
    workbook_score: float | None  # the workbook's own (cached) formula result
    recomputed_score: float
    explanation: str  # recomputed 扣分情况说明

    @property
    def agrees(self) -> bool:
        return self.workbook_score is not None and same_cell_value(self.workbook_score, self.recomputed_score)


@dataclass
class CheckResult:
    file: str
    status: str = UNREADABLE
    sha256: str | None = None
    template_id: str | None = None
    generator_version: str | None = None
    framework_id: str | None = None
    framework_version: str | None = None
    unit_name: str | None = None
    year: int | None = None
    unit_code: str | None = None  # the form's identity.code, e.g. 统一社会信用代码
    workbook_total: float | None = None
    recomputed_total: float | None = None
    grade: str | None = None
    indicators: list[IndicatorCheck] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)  # normalised input values by field id

    def add(self, level: str, code: str, text: str, **where: Any) -> Message:
        msg = Message(level, code, text, **where)
        self.messages.append(msg)
        return msg

    @property
    def errors(self) -> list[Message]:
        return [m for m in self.messages if m.level == ERROR]

    @property
    def warnings(self) -> list[Message]:
        return [m for m in self.messages if m.level == WARNING]

    def settle(self) -> CheckResult:
        if self.status != UNREADABLE:
            self.status = REJECTED if self.errors else WARNED if self.warnings else ACCEPTED
        return self

    @property
    def exit_code(self) -> int:
        return {UNREADABLE: 2, REJECTED: 1}.get(self.status, 0)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["schema_version"] = SCHEMA_VERSION
        out["status_text"] = STATUS_TEXT[self.status]
        for ind, src in zip(out["indicators"], self.indicators):
            ind["agrees"] = src.agrees
        return out
