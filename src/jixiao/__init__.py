"""jixiao (绩效): 部门整体支出绩效自评 workbook generator, scoring engine and checker."""

__version__ = "0.1.0"
