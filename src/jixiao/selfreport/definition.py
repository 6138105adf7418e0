"""Reading a report definition (`builtin/*.yaml`): the 自评报告's structure and wording as data.

Validated against the framework it is used with, so a block naming a table the form does not
have, or a value no cell holds, is one clear `FrameworkError` before anything is written."""

from __future__ import annotations

import re
from dataclasses import dataclass, field as dc_field
from importlib import resources
from pathlib import Path
import yaml

from jixiao.expr import Expr, if_, ref, round_, sum_
from jixiao.framework.model import TEXT_TYPES, Framework, Table
from jixiao.framework.spec import FrameworkError, Spec

FORMATS = ("amount", "pct", "count", "score", "text")
# {id} or {id:format}; ids may contain dots (score.x, text.x, explain.x)
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)(?::(\w+))?\}")
# names every template may use besides the workbook's values
CONTEXT_NAMES = {"framework_title"}


@dataclass(frozen=True)
class Derived:
    """A figure the report states that the workbook does not compute (yet)."""
    id: str
    expr: Expr
    is_ratio: bool


@dataclass
class Block:
    kind: str  # heading | paragraph | text | table | fields | problems | scores | page_break | landscape
    text: str = ""
    level: int = 0
    field: str = ""
    table: Table | None = None
    first_column: str = "项目"
    omit_blank_rows: bool = False
    title: str = ""
    columns: tuple[str, ...] = ()
    options: dict[str, str] = dc_field(default_factory=dict)


@dataclass
class ReportDefinition:
    id: str
    form: str
    placeholder: str
    derived: list[Derived]
    cover_title: str
    cover_lines: list[str]
    body: list[Block]
    source: str


def builtin_report(form_id: str) -> Path | None:
    """The built-in definition written for this form (each names its form)."""
    folder = Path(str(resources.files("jixiao.selfreport") / "builtin"))
    for path in sorted(folder.glob("*.yaml")):
        head = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(head, dict) and head.get("form") == form_id:
            return path
    return None


def load_definition(framework: Framework, source: str | Path | None = None) -> ReportDefinition:
    """The report definition for `framework`'s form (default: the built-in one for that form)."""
    path = Path(source) if source is not None else builtin_report(framework.form.id)
    if path is None or not path.exists():
        raise FrameworkError(str(path or framework.form.id),
                             f"找不到基础数据表“{framework.form.id}”的自评报告定义文件（可用 --definition 指定）")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise FrameworkError(str(path), f"无法读取自评报告定义（{exc}）") from None
    top = Spec(data, path.name)
    form = top.req("form")
    if form != framework.form.id:
        raise FrameworkError(top.at("form"), f"报告定义用于基础数据表“{form}”，而框架使用“{framework.form.id}”")
    known = _known_names(framework)
    derived = [_derived(s, known, framework) for s in top.subs("derived", required=False)]
    known |= {d.id for d in derived}
    cover = top.sub("cover")
    cover_title = _checked(cover.req("title"), known, cover.at("title"))
    cover_lines = [_checked(str(line), known, cover.at("lines")) for line in cover.req("lines", list)]
    cover.done()
    body = [_block(s, framework, known) for s in top.subs("body")]
    definition = ReportDefinition(top.req("id"), form, top.opt("placeholder", str, "【待填写】"), derived,
                                  cover_title, cover_lines, body, str(path))
    top.done()
    return definition


def _known_names(fw: Framework) -> set[str]:
    from jixiao.engine import computed_cells

    return set(fw.fields) | {c.id for c in computed_cells(fw)}


def _checked(template: str, known: set[str], where: str, extra: set[str] = frozenset()) -> str:
    for name, fmt in PLACEHOLDER.findall(template):
        if name not in known and name not in extra and name not in CONTEXT_NAMES:
            raise FrameworkError(where, f"引用的字段或计算项 “{name}” 不存在")
        if fmt and fmt not in FORMATS:
            raise FrameworkError(where, f"未知的格式 “{fmt}”，可用：{'、'.join(FORMATS)}")
    return template


def _operand(spec: Spec, key: str, known: set[str]) -> str:
    name = spec.req(key)
    if name not in known:
        raise FrameworkError(spec.at(key), f"引用的字段或计算项 “{name}” 不存在")
    return name


def _derived(spec: Spec, known: set[str], fw: Framework) -> Derived:
    did, kind = spec.req("id"), spec.req("kind")
    if did in known:
        raise FrameworkError(spec.at("id"), f"“{did}” 与已有字段或计算项重复")
    if kind == "ratio":
        num, den = ref(_operand(spec, "num", known)), ref(_operand(spec, "den", known))
        expr, is_ratio = if_(den.eq(0), "", round_(num / den, fw.ratio_decimals)), True
    elif kind == "difference":
        # 万元 to 0.01 元, as the workbook's own differences (float noise otherwise shows)
        expr = round_(ref(_operand(spec, "minuend", known)) - ref(_operand(spec, "subtrahend", known)), 6)
        is_ratio = False
    elif kind == "sum":
        parts = spec.req("parts", list)
        for p in parts:
            if p not in known:
                raise FrameworkError(spec.at("parts"), f"引用的字段或计算项 “{p}” 不存在")
        expr, is_ratio = sum_(*(ref(p) for p in parts)), False
    else:
        raise FrameworkError(spec.at("kind"), f"未知的计算类型 “{kind}”，可用：ratio、difference、sum")
    spec.done()
    return Derived(did, expr, is_ratio)


def find_table(fw: Framework, name: str, where: str) -> Table:
    """A form table by its number or title: "表1-1" matches "表1-1 部门整体支出…"."""
    tables = [t for s in fw.form.sheets for t in s.tables]
    found = [t for t in tables if t.title == name or t.title.split(" ")[0] == name]
    if len(found) != 1:
        titles = "、".join(t.title for t in tables)
        raise FrameworkError(where, f"基础数据表中{'没有' if not found else '有多个'}名为 “{name}” 的表（现有：{titles}）")
    return found[0]


def _block(spec: Spec, fw: Framework, known: set[str]) -> Block:
    where = spec.where
    if spec.has("heading"):
        block = Block("heading", text=_checked(spec.req("heading"), known, where), level=spec.req("level", int))
        if block.level not in (1, 2, 3):
            raise FrameworkError(spec.at("level"), "标题级别应为 1、2 或 3")
    elif spec.has("paragraph"):
        block = Block("paragraph", text=_checked(spec.req("paragraph"), known, where))
    elif spec.has("text"):
        fid = spec.req("text")
        if fid not in fw.fields or fw.fields[fid].type not in TEXT_TYPES:
            raise FrameworkError(spec.at("text"), f"“{fid}” 不是基础数据表中的文字字段")
        block = Block("text", field=fid)
    elif spec.has("table"):
        table = find_table(fw, spec.req("table"), spec.at("table"))
        if not table.is_grid:
            raise FrameworkError(spec.at("table"), f"“{table.title}” 不是行列表格（请用 fields:）")
        block = Block("table", table=table, first_column=spec.opt("first_column", str, "项目"),
                      omit_blank_rows=spec.opt("omit_blank_rows", bool, False))
    elif spec.has("fields"):
        table = find_table(fw, spec.req("fields"), spec.at("fields"))
        if table.is_grid:
            raise FrameworkError(spec.at("fields"), f"“{table.title}” 是行列表格（请用 table:）")
        columns = tuple(spec.opt("columns", list, ["项目", "填报值"]))
        if len(columns) != 2:
            raise FrameworkError(spec.at("columns"), "应为两列的列名：[项目, 填报值]")
        block = Block("fields", table=table, title=spec.opt("title", str, table.title), columns=columns)
    elif spec.has("problems"):
        sub = spec.sub("problems")
        item_names = {"n", "name", "level1", "level2", "points", "score", "lost", "explanation"}
        options = {"item": _checked(sub.req("item"), known, sub.at("item"), item_names),
                   "measure": _checked(sub.req("measure"), known, sub.at("measure"), {"note"}),
                   "none": _checked(sub.req("none"), known, sub.at("none"))}
        sub.done()
        block = Block("problems", options=options)
    elif spec.has("scores"):
        sub = spec.sub("scores")
        options = {"title": _checked(sub.req("title"), known, sub.at("title")),
                   "total": sub.req("total"), "note": _checked(sub.req("note"), known, sub.at("note"), {"note"})}
        sub.done()
        block = Block("scores", options=options)
    elif spec.has("page_break"):
        spec.req("page_break", bool)
        block = Block("page_break")
    elif spec.has("landscape"):
        spec.req("landscape", bool)
        block = Block("landscape")
    else:
        raise FrameworkError(where, "未知的报告内容：应为 heading、paragraph、text、table、fields、problems、"
                                    "scores、page_break 或 landscape 之一")
    spec.done()
    return block
