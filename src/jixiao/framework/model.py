"""What a loaded framework is: input fields laid out in a form, indicators with their rule,
measures, and cross-checks.  Built by `framework.loader`; read by the engine and the workbook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jixiao.framework import field_types
from jixiao.framework.field_types import LONGTEXT_LIMIT, NO, YES  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from jixiao.checks import Check
    from jixiao.measures import Measure
    from jixiao.rules.base import Rule

# The names of the field types (`field_types` owns what each allows), as live sets.
NUMERIC_TYPES = field_types.numeric_names
FIELD_TYPES = field_types.names
TEXT_TYPES = field_types.text_names  # longtext: a narrative placed verbatim in the 自评报告


@dataclass(frozen=True)
class Field:
    id: str
    label: str
    type: str
    unit: str = ""
    required: bool = False
    options: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    sheet: str = ""
    section: str = ""

    @property
    def kind(self) -> field_types.FieldType:
        """The field's type object: its allowed values, bounds, coercion, format, validation."""
        return field_types.get(self.type)

    @property
    def numeric(self) -> bool:
        return self.kind.numeric

    def allowed(self) -> str:
        """What may be typed, in the words the 填表说明 and error messages use."""
        return self.kind.allowed(self)


@dataclass(frozen=True)
class Column:
    id: str
    label: str
    type: str = "amount"
    computed: tuple[str, str] | None = None  # (numerator column, denominator column)
    den_row: str | None = None  # the denominator from this row (a share of the total), not the same row
    optional: bool = False  # not required even in a required row (e.g. 数量 where 原值 is enough)


@dataclass(frozen=True)
class Row:
    id: str
    label: str
    required: bool = False


@dataclass(frozen=True)
class ComputedField:
    """A live figure in a list table: minuend − subtrahend (e.g. 日常公用经费节约额)."""
    id: str
    label: str
    minus: tuple[str, str]
    unit: str = ""


@dataclass
class Table:
    title: str
    unit: str = ""
    fields: list[Field] = field(default_factory=list)   # a list table: one field a line
    columns: list[Column] = field(default_factory=list)  # or a grid: rows × columns
    rows: list[Row] = field(default_factory=list)
    computed: list[ComputedField] = field(default_factory=list)  # a list table's live figures

    @property
    def is_grid(self) -> bool:
        return bool(self.columns)


@dataclass
class Sheet:
    name: str
    tables: list[Table]


@dataclass(frozen=True)
class Identity:
    """Which fields say whose submission a workbook is (declared in the form's `identity`):
    the importer keys a submission by unit and year; a workbook with nothing filled in but
    these and the `details` (who filled it in) is a blank template."""
    unit: str
    year: str
    code: str | None = None
    details: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.unit, self.year, *((self.code,) if self.code else ()), *self.details)


@dataclass(frozen=True)
class Plausibility:
    """元 typed where 万元 is asked (the form's `plausibility`): an amount more than `times`
    the budget total -- the largest of the `budget` fields -- and at least `at_least` is
    warned about."""
    budget: tuple[str, ...]
    times: float
    at_least: float


@dataclass
class Form:
    id: str
    title: str
    sheets: list[Sheet]
    identity: Identity
    plausibility: Plausibility | None = None


@dataclass
class Indicator:
    id: str
    name: str
    points: float
    description: str
    criteria: str
    level1: str
    level2: str
    rule: Rule
    measures: list[Measure]
    inputs: list[Field]  # what the unit judges or counts for this indicator (评分要素)


@dataclass
class Level2:
    name: str
    points: float
    indicators: list[Indicator]


@dataclass
class Level1:
    name: str
    points: float
    children: list[Level2]


@dataclass(frozen=True)
class Grade:
    name: str
    minimum: float


@dataclass(eq=False)  # identity hash: computed cells are cached per loaded framework
class Framework:
    id: str
    title: str
    version: str
    digest: str  # sha256 of the framework and form files as loaded
    form: Form
    total_points: float
    score_decimals: int
    ratio_decimals: int | None  # None: ratios unrounded (15 significant digits, as Excel)
    grades: list[Grade]
    level1: list[Level1]
    checks: list[Check]
    fields: dict[str, Field]  # every input: form fields, then indicator inputs, by id

    @property
    def indicators(self) -> list[Indicator]:
        return [ind for l1 in self.level1 for l2 in l1.children for ind in l2.indicators]

    @property
    def measures(self) -> list[Measure]:
        return [m for ind in self.indicators for m in ind.measures]
