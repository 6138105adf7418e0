// A small stand-in for Office.js (Excel), for the browser test of the task pane: it is served in
// place of https://appsforoffice.microsoft.com/lib/1/hosted/office.js and holds one workbook,
// globalThis.STANDIN_BOOK (set by the test before this script: sheets with their values, number
// formats and protection, defined names, the active sheet).  It implements the part of the Excel
// JavaScript API that xlwings' client uses to read a workbook and to carry out the actions the
// server returns, with Excel's rules where they matter here: a protected sheet refuses writes and
// fills, unprotect() without the password fails at sync, errors surface at context.sync().
// What the client did ends up in STANDIN_BOOK (values, fills, hyperlinks, sheets) and in
// STANDIN_LOG (dialogs opened, properties the stand-in does not have).
(function () {
  "use strict";
  const BOOK = globalThis.STANDIN_BOOK;
  const LOG = (globalThis.STANDIN_LOG = { unknown: [], dialogs: [], messages: [], associated: [], syncs: 0 });
  const EXCEL_API_MINOR = 7; // the requirement set the manifest asks for: ExcelApi 1.7

  // Accesses of properties the stand-in lacks are logged (the test asserts there are none that
  // matter), except the ones JavaScript itself probes.
  const PROBED = new Set(["then", "toJSON", "constructor", "nodeType", "length", "asymmetricMatch", "$$typeof"]);
  function watched(obj, kind) {
    return new Proxy(obj, {
      get(target, prop, receiver) {
        if (typeof prop === "string" && !(prop in target) && !PROBED.has(prop)) {
          LOG.unknown.push(kind + "." + prop);
        }
        return Reflect.get(target, prop, receiver);
      },
    });
  }

  class OfficeError extends Error {
    constructor(code, message) {
      super(message);
      this.code = code;
      this.name = "RichApi.Error";
    }
  }

  // ------------------------------------------------------------------ addresses
  function colName(index) {
    let s = "";
    for (let n = index + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
    return s;
  }
  function colIndex(letters) {
    let n = 0;
    for (const ch of letters.toUpperCase()) n = n * 26 + (ch.charCodeAt(0) - 64);
    return n - 1;
  }
  function parseCell(ref) {
    const m = /^\$?([A-Za-z]{1,3})\$?(\d+)$/.exec(ref);
    if (!m) throw new OfficeError("InvalidArgument", "bad cell reference " + ref);
    return [parseInt(m[2], 10) - 1, colIndex(m[1])];
  }
  function parseArea(address) {
    const local = address.includes("!") ? address.split("!").pop() : address;
    const [a, b] = local.split(":");
    const [r1, c1] = parseCell(a);
    const [r2, c2] = b ? parseCell(b) : [r1, c1];
    return [Math.min(r1, r2), Math.min(c1, c2), Math.abs(r2 - r1) + 1, Math.abs(c2 - c1) + 1];
  }
  function quoteSheet(name) {
    return /^[A-Za-z0-9_\u4e00-\u9fff]+$/.test(name) ? name : "'" + name.replace(/'/g, "''") + "'";
  }
  function areaText(r, c, rows, cols) {
    const first = colName(c) + (r + 1);
    return rows === 1 && cols === 1 ? first : first + ":" + colName(c + cols - 1) + (r + rows);
  }

  // ------------------------------------------------------------------ the model
  BOOK.sheets.forEach((s) => {
    s.values = s.values || [];
    s.numberFormat = s.numberFormat || [];
    s.fills = s.fills || {};
    s.hyperlinks = s.hyperlinks || {};
    s.protected = Boolean(s.protected);
  });

  function sheetModel(name) {
    return BOOK.sheets.find((s) => s.name === name);
  }

  function cellValue(sheet, r, c) {
    const row = sheet.values[r];
    const v = row ? row[c] : undefined;
    return v === undefined || v === null ? "" : v;
  }

  function usedArea(sheet) {
    let lastRow = -1, lastCol = -1;
    sheet.values.forEach((row, r) =>
      (row || []).forEach((v, c) => {
        if (v !== "" && v !== null && v !== undefined) {
          lastRow = Math.max(lastRow, r);
          lastCol = Math.max(lastCol, c);
        }
      }));
    return lastRow < 0 ? null : [0, 0, lastRow + 1, lastCol + 1];
  }

  // ------------------------------------------------------------------ request context
  class Context {
    constructor() {
      this.pending = null;
      this.workbook = makeWorkbook(this);
    }
    fail(error) {
      if (!this.pending) this.pending = error;
    }
    async sync() {
      LOG.syncs += 1;
      await Promise.resolve();
      const error = this.pending;
      this.pending = null;
      if (error) throw error;
    }
  }

  function nullObject(kind) {
    return watched({ isNullObject: true, load() { return this; } }, kind);
  }

  function collection(kind, itemsFn, extra = {}) {
    const obj = Object.assign({
      load() { return this; },
      get items() { return itemsFn(); },
      getCount() { return { value: itemsFn().length }; },
    }, extra);
    return watched(obj, kind);
  }

  function makeWorkbook(ctx) {
    const worksheets = collection("WorksheetCollection", () => BOOK.sheets.map((s) => makeSheet(ctx, s)), {
      getItem(name) {
        const s = sheetModel(name);
        if (!s) {
          ctx.fail(new OfficeError("ItemNotFound", "The requested resource doesn't exist: " + name));
          return nullObject("Worksheet");
        }
        return makeSheet(ctx, s);
      },
      getItemOrNullObject(name) {
        const s = sheetModel(name);
        return s ? makeSheet(ctx, s) : nullObject("Worksheet");
      },
      getActiveWorksheet() {
        return makeSheet(ctx, BOOK.sheets[BOOK.active || 0]);
      },
      add(name) {
        name = name || "Sheet" + (BOOK.sheets.length + 1);
        if (sheetModel(name)) {
          ctx.fail(new OfficeError("ItemAlreadyExists", "A sheet with this name already exists: " + name));
          return nullObject("Worksheet");
        }
        const s = { name, values: [], numberFormat: [], fills: {}, hyperlinks: {}, protected: false, added: true };
        BOOK.sheets.push(s);
        return makeSheet(ctx, s);
      },
    });
    const names = collection("NamedItemCollection", () => (BOOK.names || []).map((n) => makeName(ctx, n)));
    const application = watched({
      calculationMode: BOOK.calculation || "Automatic",
      load() { return this; },
      calculate() {},
      suspendScreenUpdatingUntilNextSync() {},
    }, "Application");
    return watched({
      name: BOOK.name,
      worksheets,
      names,
      application,
      load() { return this; },
      getSelectedRange() {
        return makeRange(ctx, BOOK.sheets[BOOK.active || 0], 0, 0, 1, 1);
      },
    }, "Workbook");
  }

  function makeName(ctx, n) {
    return watched({
      name: n.name,
      type: "Range",
      formula: "=" + quoteSheet(n.sheet) + "!" + n.address,
      load() { return this; },
      getRangeOrNullObject() {
        const s = sheetModel(n.sheet);
        if (!s) return nullObject("Range");
        const [r, c, rows, cols] = parseArea(n.address);
        return makeRange(ctx, s, r, c, rows, cols);
      },
    }, "NamedItem");
  }

  function makeSheet(ctx, s) {
    const sheet = {
      isNullObject: false,
      get name() { return s.name; },
      set name(v) { s.name = String(v); },
      get position() { return BOOK.sheets.indexOf(s); },
      set position(v) {
        const from = BOOK.sheets.indexOf(s);
        BOOK.sheets.splice(from, 1);
        BOOK.sheets.splice(Math.min(v, BOOK.sheets.length), 0, s);
      },
      visibility: s.visibility || "Visible",
      showGridlines: true,
      load() { return this; },
      activate() { BOOK.active = BOOK.sheets.indexOf(s); },
      getUsedRangeOrNullObject() {
        const area = usedArea(s);
        return area ? makeRange(ctx, s, ...area) : nullObject("Range");
      },
      getUsedRange() {
        return makeRange(ctx, s, ...(usedArea(s) || [0, 0, 1, 1]));
      },
      getRange(address) {
        if (!address) return makeRange(ctx, s, 0, 0, 1048576, 16384);
        return makeRange(ctx, s, ...parseArea(address));
      },
      getRangeByIndexes(r, c, rows, cols) {
        return makeRange(ctx, s, r, c, rows, cols);
      },
      names: collection("NamedItemCollection", () => []),
      tables: collection("TableCollection", () => []),
      charts: collection("ChartCollection", () => []),
      shapes: collection("ShapeCollection", () => []),
      pageLayout: watched({ getPrintAreaOrNullObject() { return nullObject("RangeAreas"); } }, "PageLayout"),
      protection: watched({
        get protected() { return s.protected; },
        load() { return this; },
        unprotect(password) {
          if (s.password && password !== s.password) {
            ctx.fail(new OfficeError("InvalidArgument", "The password you supplied is not correct."));
            return;
          }
          s.protected = false;
          s.unprotectedCount = (s.unprotectedCount || 0) + 1;
        },
        protect(options) {
          s.protected = true;
          s.protectOptions = options || {};
        },
      }, "WorksheetProtection"),
    };
    return watched(sheet, "Worksheet");
  }

  function refuseIfProtected(ctx, s, what) {
    if (s.protected) {
      ctx.fail(new OfficeError("AccessDenied",
        "The cell or chart you're trying to change is on a protected sheet (" + what + " on " + s.name + ")."));
      return true;
    }
    return false;
  }

  function makeRange(ctx, s, r, c, rows, cols) {
    const key = (i, j) => colName(c + j) + (r + i + 1);
    const grid = (fn) => Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => fn(i, j)));
    const fill = watched({
      get color() { return s.fills[key(0, 0)] || "#FFFFFF"; },
      set color(v) {
        if (refuseIfProtected(ctx, s, "fill")) return;
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) s.fills[key(i, j)] = String(v).toUpperCase();
      },
      clear() {
        if (refuseIfProtected(ctx, s, "fill")) return;
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) delete s.fills[key(i, j)];
      },
      load() { return this; },
    }, "RangeFill");
    const range = {
      isNullObject: false,
      address: quoteSheet(s.name) + "!" + areaText(r, c, rows, cols),
      rowIndex: r,
      columnIndex: c,
      rowCount: rows,
      columnCount: cols,
      get worksheet() { return makeSheet(ctx, s); },
      load() { return this; },
      get values() { return grid((i, j) => cellValue(s, r + i, c + j)); },
      set values(v) {
        if (refuseIfProtected(ctx, s, "values")) return;
        v.forEach((row, i) => row.forEach((value, j) => {
          s.values[r + i] = s.values[r + i] || [];
          s.values[r + i][c + j] = value;
        }));
      },
      set formulas(v) { this.values = v; },
      get numberFormat() {
        return grid((i, j) => ((s.numberFormat[r + i] || [])[c + j]) || "General");
      },
      set numberFormat(v) {
        v.forEach((row, i) => row.forEach((f, j) => {
          s.numberFormat[r + i] = s.numberFormat[r + i] || [];
          s.numberFormat[r + i][c + j] = f;
        }));
      },
      set hyperlink(h) {
        if (refuseIfProtected(ctx, s, "hyperlink")) return;
        s.hyperlinks[key(0, 0)] = h;
        this.values = [[h.textToDisplay]];
      },
      format: watched({
        fill,
        autofitColumns() { s.autofit = (s.autofit || 0) + 1; },
        autofitRows() {},
        columnWidth: 48,
        load() { return this; },
      }, "RangeFormat"),
      getSurroundingRegion() { return this; },
      clear() {
        if (refuseIfProtected(ctx, s, "clear")) return;
        for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) {
          if (s.values[r + i]) s.values[r + i][c + j] = "";
          delete s.fills[key(i, j)];
        }
      },
    };
    return watched(range, "Range");
  }

  // ------------------------------------------------------------------ Office and Excel
  const ready = Promise.resolve({ host: "Excel", platform: "OfficeOnline" });
  globalThis.Office = watched({
    onReady(callback) {
      return ready.then((info) => { if (callback) callback(info); return info; });
    },
    context: watched({
      platform: "OfficeOnline",
      diagnostics: { version: "16.0 (stand-in)", platform: "OfficeOnline" },
      requirements: watched({
        isSetSupported(name, version) {
          if (String(name).toLowerCase() !== "excelapi") return false;
          const [major, minor] = String(version || "1.1").split(".").map((x) => parseInt(x, 10));
          return major === 1 && (minor || 0) <= EXCEL_API_MINOR;
        },
      }, "RequirementSetSupport"),
      ui: watched({
        displayDialogAsync(url, options, callback) {
          const query = new URL(url).searchParams;
          LOG.dialogs.push({ url, prompt: query.get("prompt"), title: query.get("title") });
          const dialog = { addEventHandler() {}, close() {} };
          if (callback) callback({ status: "succeeded", value: dialog });
        },
        messageParent(message) {  // (in a dialog page)
          LOG.messages.push(message);
        },
      }, "UI"),
    }, "Context"),
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    EventType: { DialogMessageReceived: "dialogMessageReceived", DialogEventReceived: "dialogEventReceived" },
    // the ribbon's ExecuteFunction buttons: the test calls them as Excel would, with an event
    actions: { associate(name, fn) { LOG.associated.push(name); (globalThis.STANDIN_RIBBON ||= {})[name] = fn; } },
  }, "Office");

  globalThis.Excel = watched({
    async run(batch) {
      const ctx = new Context();
      const result = await batch(ctx);
      await ctx.sync();
      return result;
    },
    RequestContext: Context,
    ShapeType: { image: "Image" },
    ClearApplyTo: { all: "All", contents: "Contents", formats: "Formats" },
    CalculationType: { full: "Full" },
  }, "Excel");
})();
