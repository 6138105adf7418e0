"""`jixiao report`: the 部门整体绩效自评报告 (.docx, optionally PDF) written from a filled
workbook or an imported submission — every table and figure from the workbook's inputs and the
engine's results, the narrative from the 报告文字 sheet, the structure and wording from a report
definition file (`builtin/`)."""

from jixiao.selfreport.build import Problem, Report, build_report, lost_points, report_for_inputs
from jixiao.selfreport.definition import ReportDefinition, load_definition
from jixiao.selfreport.pdf import PdfError, to_pdf
from jixiao.selfreport.sources import ReportError, report_from_database, report_from_workbook

__all__ = ["Problem", "Report", "ReportDefinition", "ReportError", "PdfError", "build_report", "load_definition",
           "lost_points", "report_for_inputs", "report_from_database", "report_from_workbook", "to_pdf"]
