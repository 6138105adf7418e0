"""The 填表说明 sheet: how to fill, check and send the workbook, in an accountant's words; the
scoring conventions come from the framework (each rule kind and measure states its readings)."""

from __future__ import annotations

from jixiao.framework.model import Framework
from jixiao.layout.model import SheetLayout
from jixiao.layout.names import CHECK_SHEET, GUIDE_SHEET, JUDGEMENT_SHEET, SCORE_SHEET
from jixiao.measures import ratio_reading


def guide_sheet(fw: Framework) -> SheetLayout:
    ws = SheetLayout(GUIDE_SHEET, landscape=False, widths=[14, 90])
    form_sheets = [sheet.name for sheet in fw.form.sheets]
    warnings = [c for c in fw.checks if c.level == "警告"]
    # (heading, text) rows; a heading alone is a section title
    steps = [(f"第{i}步", f"填写“{name}”表" + ("（表1-1至表1-5）" if "预算" in name else "") + "。")
             for i, name in enumerate(form_sheets, 1)]
    n = len(steps)
    steps += [
        (f"第{n + 1}步", f"填写“{JUDGEMENT_SHEET}”表：对照每个三级指标的评分标准，逐项选择“是/否”、选择档次或填写数量、得分。"),
        (f"第{n + 2}步", f"查看“{SCORE_SHEET}”：得分和“扣分情况说明”自动生成；有扣分或有警告的指标，在最后一列"
                         "“扣分原因及整改情况说明”中写明原因和整改措施。文字较长、格子显示不全的，选中该行，"
                         "用“开始→格式→自动调整行高”（WPS：“行和列→最适合的行高”）加高，打印时才不会缺字。"),
        (f"第{n + 3}步", f"查看“{CHECK_SHEET}”表第一行的审核结论，按下文“审核”一节处理全部错误和警告。"),
        (f"第{n + 4}步", "保存并报送（见下文“报送”一节）。"),
    ]
    lines: list[tuple[str, str]] = [
        ("这份工作簿", ""),
        ("用途", f"{fw.title}部门整体支出绩效自评表。填入本单位的决算数据和自评判断后，评分表随填随算出各项得分、"
                 "总得分和评价等级，审核表随填随查数据是否前后一致。"),
        ("颜色", "黄色格子：由单位填写。绿色格子：自动计算，已锁定，不能也不必修改。"
                 "工作表保护没有密码，只为防止误改；请不要撤销保护去改绿色格子里的公式。"),
        ("填写顺序", ""),
        *steps,
        ("怎样填写", ""),
        ("金额", "所有金额均以“万元”为单位，保留两位小数。以“元”为单位的数据请除以10000，"
                 "例如“三公”经费12,311元填1.2311，固定资产2,132,611.2元填213.26112。"),
        ("人数、数量", "填写整数。表1-6“土地”“房屋”两行的数量栏填面积（平方米）。"),
        ("是/否、档次", "点击格子，从下拉列表中选择；不要自行输入其他文字。"),
        ("没有的数据", "报告中为“—”或本单位没有的项目，格子留空，不要填“—”“无”等文字。"
                       "留空的金额、人数按0计算；留空的评分要素（是/否、档次）不得分。"
                       "标有“（必填）”的项目以及各表合计行必须填写，留空会在审核表中列为错误。"),
        ("合计", "表1-1至表1-6的合计行照决算报表填写，审核表会逐项核对合计与各分项之和；"
                 "不一致时请检查是哪一项填错。"),
        ("计分规则", "得分按评分表中的“评分标准”计算。" + ratio_reading(fw.ratio_decimals)
                     + f"每个三级指标得分四舍五入保留{fw.score_decimals}位小数，"
                     "总得分为各三级指标得分之和。评分标准没有写明的情形按以下约定计分，并在“扣分情况说明”中注明："),
        *((ind.name, text) for ind in fw.indicators for text in ind.rule.readings()),
        *(("计算约定", text) for m in fw.measures for text in m.readings()),
        ("审核", ""),
        ("审核结论", f"“{CHECK_SHEET}”表第一行是审核结论，例如“错误 0 项，警告 2 项：可以报送”。"
                     "红色表示有错误，黄色表示只有警告，绿色表示全部通过。"),
        ("错误（红色）", "数据相互矛盾或必填项未填，必须改正后才能报送。按“审核内容”和“说明”栏找到填错的格子改正，"
                       "审核结果会立即更新。"),
        ("警告（黄色）", "数据可能有误，也可能有合理原因。先核对数字；确实无误的，不必修改，"
                       f"但须在“{SCORE_SHEET}”相关指标的“扣分原因及整改情况说明”中写明原因。本表的警告有："),
        *(("警告", f"{c.message}：核对两处数字；确有差异的，写明差异的原因。") for c in warnings),
        ("报送", ""),
        ("保存", "以 Excel 工作簿（.xlsx）格式保存，不要另存为 .xls、.et 或 .ods；不要删除、重命名工作表，"
                 "不要插入或删除行列。"),
        ("文件名", "“单位名称＋年度＋部门整体支出绩效自评表.xlsx”，例如“深圳市某某中心2021年度部门整体支出绩效自评表.xlsx”。"),
        ("发送", "审核结论为“可以报送”后，按财政部门通知的方式（电子邮件附件等）发送本文件，不要压缩加密。"
                 f"打印盖章的“{SCORE_SHEET}”为A4横向，每页有页码；打印前请在“{CHECK_SHEET}”表确认没有错误。"),
    ]
    row = ws.title("填表说明", 2)
    for head, body in lines:
        if not body:
            ws.merge(row, 1, row, 2)
            ws.put(row, 1, head, font="header", fill="section")
            ws.put(row, 2, None, fill="section")
        else:
            ws.put(row, 1, head, font="header", fill="header", align="center")
            ws.put(row, 2, body, align="wrap")
        row += 1
    return ws
