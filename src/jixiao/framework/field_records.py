"""What the field types (`jixiao.framework.field_types`) hand back: a coerced value, the one
error of a value that cannot be used, and a data validation as data."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Value", "FieldError", "Validation", "EMPTY"]


@dataclass(frozen=True)
class Value:
    """A coerced value: None for an empty cell; int for count/year, float for other numbers,
    str otherwise; `note` says in Chinese what lax reading changed (None: taken as it is)."""
    value: object
    note: str | None = None


@dataclass(frozen=True)
class FieldError:
    """The one error of a value that cannot be used: `code` for programs, `expected`
    (“应为……”) and `found` (how the raw value looked) for people, and the whole `message`."""
    expected: str
    found: str
    code: str = field(default="invalid", compare=False)
    message: str = field(default="", compare=False)
    input: object = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.message:
            object.__setattr__(self, "message", f"{self.expected}，实际为{self.found}")


@dataclass(frozen=True)
class Validation:
    """A data validation as data (Excel's dataValidation element)."""
    type: str  # list | whole | decimal | textLength
    operator: str | None  # between | lessThanOrEqual | None (a list)
    formula1: str
    formula2: str | None = None
    allow_blank: bool = True
    prompt_title: str = "填写要求"
    prompt: str = ""
    error_title: str = "输入有误"
    error: str = ""

    @property
    def rule(self) -> tuple[str, str | None, str, str | None, bool]:
        """What the cell accepts, without the messages: cells with the same rule share one
        validation (the messages then are those of the first field)."""
        return self.type, self.operator, self.formula1, self.formula2, self.allow_blank


EMPTY = Value(None, None)
