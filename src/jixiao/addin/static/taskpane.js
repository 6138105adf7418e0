// The 绩效自评 task pane: its three buttons and the ribbon buttons run xlwings.runPython (the
// xlwings client served by this server: it sends the workbook, the server answers with the
// actions to carry out), and the pane says in Chinese whether that worked and, if not, what failed.

const LABELS = { validate: "校验", recompute: "重算核对", finalise: "定稿" };

// What each action the server returns does in Excel, for naming the one that failed.
const ACTION_NAMES = {
  setValues: "写入单元格", setRangeColor: "单元格标色", addSheet: "添加工作表", addHyperlink: "添加超链接",
  setAutofit: "调整列宽", activateSheet: "切换工作表", alert: "显示提示框", runMacro: "取消或恢复工作表保护",
  rangeClear: "清除单元格", rangeClearFormats: "清除格式", rangeClearContents: "清除内容",
  sheetDelete: "删除工作表", sheetClear: "清除工作表", setNumberFormat: "设置数字格式",
};

// ---------------------------------------------------------------- functions the server calls
// (book.app.macro(...) on the Python side: xlwings' runMacro action).  The template's sheets are
// protected without a password; fills and the metadata need them unprotected for a moment.  Only
// sheets unprotected here are protected again.
globalThis.jixiaoUnprotected = globalThis.jixiaoUnprotected || {};

async function jixiaoUnprotect(context, sheetName) {
  const sheet = context.workbook.worksheets.getItem(sheetName);
  sheet.protection.load("protected");
  await context.sync();
  if (sheet.protection.protected) {
    sheet.protection.unprotect();
    try {
      await context.sync();
    } catch (error) {
      throw new Error(`工作表“${sheetName}”的保护无法取消（可能设了密码：模板的保护没有密码）：${error.message || error}`);
    }
    globalThis.jixiaoUnprotected[sheetName] = true;
  }
}

async function jixiaoProtect(context, sheetName, allowFormatRowsColumns) {
  if (!globalThis.jixiaoUnprotected[sheetName]) {
    return;
  }
  const sheet = context.workbook.worksheets.getItem(sheetName);
  sheet.protection.protect({
    allowFormatColumns: Boolean(allowFormatRowsColumns),
    allowFormatRows: Boolean(allowFormatRowsColumns),
    allowEditObjects: true,
    allowEditScenarios: true,
    selectionMode: "Normal",
  });
  await context.sync();
  delete globalThis.jixiaoUnprotected[sheetName];
}

// ---------------------------------------------------------------- errors in Chinese

// The client's messages (English) → what failed, in the pane's words.
export function describeFailure(raw) {
  // the client writes its Error object as text: "Error: …"
  const text = String(raw ?? "").trim().replace(/^(?:Error|TypeError|RangeError|RichApi\.Error):\s*/, "");
  let m = text.match(/^Action (\d+) \((\w+)\) failed: ([\s\S]*?)\.?( Up to \d+ actions? may already have been applied[\s\S]*)?$/);
  if (m) {
    const what = ACTION_NAMES[m[2]] || m[2];
    return `Excel 未能执行服务器返回的第 ${m[1]} 步操作（${what}，${m[2]}）：${m[3]}。此前的操作可能已部分执行，请检查工作簿后重试`;
  }
  m = text.match(/^Action (\d+) has an unknown function: (\S+?)\./);
  if (m) {
    return `xlwings 客户端不认识服务器返回的第 ${m[1]} 步操作 ${m[2]}（客户端与服务器版本不一致）`;
  }
  if (text === "No response received from server") {
    return "服务器无响应（网络中断、服务器未运行，或证书不受信任）";
  }
  if (/^服务器/.test(text)) {
    return text;  // the server's own message, already Chinese
  }
  return `xlwings 客户端报错：${text || "（无说明）"}`;
}

class ActionFailed extends Error {}

function clientError() {
  const alert = document.getElementById("global-error-alert");
  if (!alert || alert.classList.contains("d-none")) {
    return null;
  }
  return alert.querySelector("span").textContent;
}

function clearClientError() {
  const alert = document.getElementById("global-error-alert");
  if (alert) {
    alert.classList.add("d-none");
    alert.querySelector("span").textContent = "";
  }
}

// ---------------------------------------------------------------- running an action

async function run(action) {
  const xlwings = globalThis.xlwings;
  if (!xlwings || typeof xlwings.runPython !== "function") {
    throw new ActionFailed("xlwings 的 JavaScript 客户端未加载（服务器上的 /xlwings-client/ 无法读取）");
  }
  clearClientError();
  // errorDisplayMode "taskpane": the client puts its error into #global-error-alert
  // (it does not throw); "alert" would open an English dialog instead.
  await xlwings.runPython({ scriptName: action, errorDisplayMode: "taskpane" });
  const error = clientError();
  if (error !== null) {
    throw new ActionFailed(describeFailure(error));
  }
}

function setStatus(text, failed) {
  const status = document.getElementById("status");
  status.textContent = text;
  status.classList.toggle("failed", Boolean(failed));
}

async function onClick(event) {
  const button = event.currentTarget;
  const action = button.getAttribute("data-action");
  document.querySelectorAll("button[data-action]").forEach((b) => (b.disabled = true));
  setStatus(LABELS[action] + "中……", false);
  try {
    await run(action);
    setStatus(LABELS[action] + "完成。", false);
  } catch (error) {
    setStatus(LABELS[action] + "失败：" + (error instanceof ActionFailed ? error.message : describeFailure(error?.message ?? error)), true);
  } finally {
    document.querySelectorAll("button[data-action]").forEach((b) => (b.disabled = false));
  }
}

function register() {
  // xlwings' runMacro looks the function up in globalThis.callbacks (xlwings.registerCallback)
  if (globalThis.xlwings && typeof globalThis.xlwings.registerCallback === "function") {
    globalThis.xlwings.registerCallback(jixiaoUnprotect);
    globalThis.xlwings.registerCallback(jixiaoProtect);
  } else {
    setStatus("xlwings 的 JavaScript 客户端未加载（服务器上的 /xlwings-client/ 无法读取）：按钮不可用", true);
  }
}

register();

Office.onReady(function () {
  document.querySelectorAll("button[data-action]").forEach((b) => b.addEventListener("click", onClick));
  document.body.setAttribute("data-ready", "true");
});

// Ribbon buttons (manifest.xml: ExecuteFunction jixiao-validate / -recompute / -finalise)
function ribbon(action) {
  return async function (event) {
    try {
      await run(action);
      setStatus(LABELS[action] + "完成。", false);
    } catch (error) {
      setStatus(LABELS[action] + "失败：" + (error instanceof ActionFailed ? error.message : describeFailure(error?.message ?? error)), true);
    } finally {
      event.completed();
    }
  };
}
if (Office.actions && typeof Office.actions.associate === "function") {
  Office.actions.associate("jixiao-validate", ribbon("validate"));
  Office.actions.associate("jixiao-recompute", ribbon("recompute"));
  Office.actions.associate("jixiao-finalise", ribbon("finalise"));
}
