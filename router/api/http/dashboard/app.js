// The spend dashboard: every panel is one or two calls of the HTTP/JSON API (QuerySpend reads
// the rollups), for the caller's scope (the API narrows a team key to its team). No build step,
// no library: the chart is SVG drawn here. Money stays in integer nanos (BigInt) end to end.
"use strict";

const NANOS = 1000000000n;
const KEY_STORE = "router.dashboard.key";
const MAX_BUCKETS = 2000; // as many as the server buckets in SQL
const RANGES = { "24h": 24, "7d": 168, "14d": 336, "30d": 720, "90d": 2160 };
const DIMS = {
  team: ["SPEND_DIMENSION_TEAM", "team"], agent: ["SPEND_DIMENSION_AGENT", "agent"],
  user: ["SPEND_DIMENSION_USER", "user"], task_type: ["SPEND_DIMENSION_TASK_TYPE", "taskType"],
  model: ["SPEND_DIMENSION_MODEL", "model"], provider: ["SPEND_DIMENSION_PROVIDER", "provider"],
  cost_kind: ["SPEND_DIMENSION_COST_KIND", "costKind"],
};
const DRILL = { team: "agent", agent: "task_type", task_type: "model", model: "user" };
const FILTER_KEYS = ["team", "agent", "model", "task_type", "user"];
const COLORS = ["#2f6db5", "#d9822b", "#3a9c5b", "#c23b4e", "#7d5ab5", "#8c6d31", "#d16aa8",
                "#5d6b78", "#2aa3a3", "#a0a030"];
const HOUR_MS = 3600000;

// -- money and numbers ------------------------------------------------------------------------

function nanosOf(money) { return BigInt((money && money.nanos) || 0); }

// Nanos as a plain decimal amount, as the CLI's units(): 1500000000n -> "1.5", 0n -> "0".
function units(n) {
  const neg = n < 0n;
  const a = neg ? -n : n;
  let frac = (a % NANOS).toString().padStart(9, "0").replace(/0+$/, "");
  const whole = (a / NANOS).toString();
  return (neg ? "-" : "") + whole + (frac ? "." + frac : "");
}

// a / b rounded half away from zero, in integers
function divRound(a, b) {
  if (b === 0n) return 0n;
  const neg = (a < 0n) !== (b < 0n);
  const aa = a < 0n ? -a : a, bb = b < 0n ? -b : b;
  let q = aa / bb;
  if (2n * (aa % bb) >= bb) q += 1n;
  return neg ? -q : q;
}

function pct(fraction) {
  if (fraction === null || !isFinite(fraction)) return "n/a";
  const v = (fraction * 100).toFixed(1);
  return (fraction > 0 ? "+" : "") + v + "%";
}

// growth of now over before, as a fraction (null when there was nothing before)
function growth(now, before) {
  if (before === 0n) return null;
  return Number(now - before) / Number(before);
}

function int(v) { return BigInt(v || 0); }
function tokensOf(t) {
  t = t || {};
  return int(t.input) + int(t.cachedInput) + int(t.output) + int(t.reasoning);
}

// -- URL state --------------------------------------------------------------------------------

function readState() {
  const q = new URLSearchParams(location.search);
  const s = {
    range: q.get("range") || "7d", from: q.get("from") || "", to: q.get("to") || "",
    tz: q.get("tz") || "UTC", bucket: q.get("bucket") || "", stack: q.get("stack") || "team",
    by: q.get("by") || "team", month: q.get("month") || "", mode: q.get("mode") || "chargeback",
    labels: q.getAll("label"),
  };
  for (const k of FILTER_KEYS) s[k] = q.get(k) || "";
  if (s.from || s.to) s.range = "custom";
  if (!DIMS[s.stack] || s.stack === "user" || s.stack === "task_type") s.stack = "team";
  if (!DIMS[s.by] || s.by === "provider" || s.by === "cost_kind") s.by = "team";
  return s;
}

function writeState(s, replace) {
  const q = new URLSearchParams();
  if (s.range === "custom") {
    if (s.from) q.set("from", s.from);
    if (s.to) q.set("to", s.to);
  } else if (s.range !== "7d") {
    q.set("range", s.range);
  }
  for (const k of FILTER_KEYS) if (s[k]) q.set(k, s[k]);
  for (const l of s.labels) q.append("label", l);
  if (s.tz && s.tz !== "UTC") q.set("tz", s.tz);
  if (s.bucket) q.set("bucket", s.bucket);
  if (s.stack !== "team") q.set("stack", s.stack);
  if (s.by !== "team") q.set("by", s.by);
  if (s.month) q.set("month", s.month);
  if (s.mode !== "chargeback") q.set("mode", s.mode);
  const url = location.pathname + (q.toString() ? "?" + q.toString() : "");
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
}

function parseTime(text) {
  const t = Date.parse(text);
  if (isNaN(t)) throw new Error("not a time: " + JSON.stringify(text) + " (use e.g. 2026-11-28T00:00Z)");
  return t;
}

// [start, end) in ms: the custom times, or the range ending at the next top of the hour
function period(s) {
  if (s.range === "custom") {
    const end = s.to ? parseTime(s.to) : Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
    const start = s.from ? parseTime(s.from) : end - 168 * HOUR_MS;
    if (!(start < end)) throw new Error("from must be before to");
    return [start, end];
  }
  const end = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
  return [end - (RANGES[s.range] || 168) * HOUR_MS, end];
}

function iso(ms) { return new Date(ms).toISOString(); }

function defaultBucket(start, end) {
  const hours = (end - start) / HOUR_MS;
  return hours <= 48 ? "hour" : hours <= 24 * 62 ? "day" : "week";
}

// The instant of a wall-clock time in an IANA zone (two passes cover DST changes).
function zoned(y, m, d, tz) {
  const fmt = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit" });
  const target = Date.UTC(y, m - 1, d);
  let guess = target;
  for (let i = 0; i < 2; i++) {
    const p = Object.fromEntries(fmt.formatToParts(new Date(guess)).map((x) => [x.type, x.value]));
    const shown = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    guess += target - shown;
  }
  return guess;
}

// Every bucket start meeting [start, end) in the zone, as the server counts them
// (router.core.windows: local hours, local days, weeks from Monday, calendar months), so a
// bucket without spend still gets its place on the chart.
function bucketStarts(start, end, bucket, tz) {
  const fmt = new Intl.DateTimeFormat("en-US", { timeZone: tz, hourCycle: "h23",
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", weekday: "short" });
  const p = Object.fromEntries(fmt.formatToParts(new Date(start)).map((x) => [x.type, x.value]));
  const out = [];
  if (bucket === "hour") {
    for (let t = start - (+p.minute * 60 + +p.second) * 1000 - (start % 1000);
      t < end && out.length < MAX_BUCKETS; t += HOUR_MS) out.push(t);
    return out;
  }
  let y = +p.year, m = +p.month, d = +p.day;
  if (bucket === "week") d -= ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"].indexOf(p.weekday);
  if (bucket === "month") d = 1;
  while (out.length < MAX_BUCKETS) {
    const t = zoned(y, m, d, tz); // Date.UTC carries a day past the month's end over
    if (t >= end) break;
    out.push(t);
    if (bucket === "day") d += 1; else if (bucket === "week") d += 7; else m += 1;
  }
  return out;
}

function monthBounds(month, tz) {
  const [y, m] = month.split("-").map(Number);
  return [zoned(y, m, 1, tz), zoned(m === 12 ? y + 1 : y, (m % 12) + 1, 1, tz)];
}

function thisMonth(tz) {
  const p = new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit" })
    .formatToParts(new Date());
  const get = (t) => p.find((x) => x.type === t).value;
  return get("year") + "-" + get("month");
}

function showTime(ms, tz, withHour = true) {
  const opts = { timeZone: tz, year: "numeric", month: "short", day: "numeric" };
  if (withHour) Object.assign(opts, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  return new Intl.DateTimeFormat("en-GB", opts).format(new Date(ms));
}

// -- the API ----------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(httpStatus, status) {
    super((status && status.message) || "HTTP " + httpStatus);
    this.httpStatus = httpStatus;
    this.code = status && status.code;
  }
}

function authHeaders() {
  const key = sessionStorage.getItem(KEY_STORE);
  return key ? { Authorization: "Bearer " + key } : {};
}

async function api(method, body) {
  const resp = await fetch("/v1/" + method, {
    method: "POST", headers: { "Content-Type": "application/json", ...authHeaders() },
    body: JSON.stringify(body || {}),
  });
  const text = await resp.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
  if (!resp.ok) throw new ApiError(resp.status, data);
  return data;
}

// the filters as an Attribution: QuerySpend's and ListDecisions' `filter`
function filterOf(s) {
  const filter = { team: s.team, agent: s.agent, user: s.user, taskType: s.task_type };
  const labels = {};
  for (const l of s.labels) {
    const i = l.indexOf("=");
    if (i > 0) labels[l.slice(0, i)] = l.slice(i + 1);
  }
  if (Object.keys(labels).length) filter.labels = labels;
  for (const k of Object.keys(filter)) if (filter[k] === "") delete filter[k];
  return filter;
}

function spendRequest(s, start, end, extra) {
  return { startTime: iso(start), endTime: iso(end), filter: filterOf(s), model: s.model,
           timeZone: s.tz, ...extra };
}

// -- DOM helpers ------------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function csvCell(v) {
  const t = String(v);
  return /[",\n\r]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t;
}

function toCsv(header, rows) {
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

// A table of strings with an "Export CSV" button that writes the very same strings. cells[i]
// may be {text, button: fn} for a drill-down, {text, href} for a link, or a string. Numbers are
// right-aligned by `numeric` (column indexes).
function table(name, header, rows, { numeric = [], caption = "", attrs = [] } = {}) {
  const wrap = el("div", { class: "table-wrap" });
  const text = (c) => (typeof c === "object" && c !== null ? c.text : String(c));
  const exportButton = el("button", { type: "button", class: "quiet export", "data-csv": name,
    on: { click: () => download(name + ".csv", toCsv(header, rows.map((r) => r.map(text)))) } },
  "Export CSV");
  const thead = el("thead", {}, el("tr", {}, header.map((h, i) =>
    el("th", { scope: "col", class: numeric.includes(i) ? "num" : null, text: h }))));
  const tbody = el("tbody", {}, rows.map((r, ri) => el("tr", attrs[ri] || {}, r.map((c, i) => {
    const cls = numeric.includes(i) ? "num" : null;
    if (typeof c === "object" && c !== null && c.button) {
      return el("td", { class: cls }, el("button", { type: "button", class: "link",
        on: { click: c.button } }, c.text));
    }
    if (typeof c === "object" && c !== null && c.href) {
      return el("td", { class: cls }, el("a", { href: c.href }, c.text));
    }
    return el("td", { class: cls, text: text(c) });
  }))));
  const t = el("table", { "data-table": name }, caption ? el("caption", { text: caption }) : null,
    thead, tbody);
  if (!rows.length) wrap.append(el("p", { class: "muted", text: "Nothing in this range." }));
  wrap.append(el("div", { class: "table-tools" }, exportButton), t);
  return wrap;
}

function download(filename, content) {
  const url = URL.createObjectURL(new Blob([content], { type: "text/csv" }));
  const a = el("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function replace(id, ...nodes) {
  const node = document.getElementById(id);
  node.replaceChildren(...nodes);
  return node;
}

function failure(id, err) {
  replace(id, el("p", { class: "error", role: "alert", text: "Could not load: " + err.message }));
}

// -- panels -----------------------------------------------------------------------------------

function card(name, label, value, detail, data) {
  return el("div", { class: "card", "data-card": name, ...data },
    el("div", { class: "card-label", text: label }),
    el("div", { class: "card-value", text: value }),
    el("div", { class: "card-detail muted", text: detail || "" }));
}

async function cards(s, start, end) {
  const len = end - start;
  const [now, before, savings] = await Promise.all([
    api("QuerySpend", spendRequest(s, start, end)),
    api("QuerySpend", spendRequest(s, start - len, start)),
    api("GetSavings", { startTime: iso(start), endTime: iso(end) }),
  ]);
  const t = now.total || {}, p = before.total || {};
  const cur = (t.cost && t.cost.total && t.cost.total.currencyCode) || "USD";
  const spend = nanosOf(t.cost && t.cost.total), prevSpend = nanosOf(p.cost && p.cost.total);
  const calls = int(t.calls), prevCalls = int(p.calls), tokens = tokensOf(t.tokens);
  const perCall = calls ? divRound(spend, calls) : 0n;
  const predicted = nanosOf(t.predictedCost), actualOfPredicted = nanosOf(t.actualCostOfPredicted);
  const mape = t.mape || 0, bias = t.bias || 0;
  // savings: the caller's scope over the range; narrowed to a team's or agent's line when the
  // filter names one (GetSavings has no other filters)
  let line = savings.total || {}, savingsScope = "whole scope";
  if (s.team && !s.agent) {
    line = (savings.byTeam || []).find((l) => l.team === s.team) || {}; savingsScope = "team " + s.team;
  } else if (s.agent) {
    line = (savings.byAgent || []).find((l) => l.agent === s.agent && (!s.team || l.team === s.team)) || {};
    savingsScope = "agent " + s.agent;
  }
  const saved = nanosOf(line.savings);
  replace("cards",
    card("spend", "Spend", cur + " " + units(spend), "previous period " + units(prevSpend),
      { "data-nanos": spend, "data-prev-nanos": prevSpend }),
    card("calls", "Calls", calls.toString(), "previous period " + prevCalls, { "data-value": calls }),
    card("tokens", "Tokens", tokens.toString(), "input, cached, output and reasoning",
      { "data-value": tokens }),
    card("per-call", "Average cost per call", cur + " " + units(perCall), "spend / calls",
      { "data-nanos": perCall }),
    card("prediction", "Predicted vs actual", "MAPE " + (mape * 100).toFixed(1) + "%",
      "bias " + pct(bias) + "; predicted " + units(predicted) + ", actual " +
      units(actualOfPredicted) + " over " + int(t.predictedCalls) + " routed calls",
      { "data-mape": mape, "data-bias": bias, "data-predicted-nanos": predicted,
        "data-actual-nanos": actualOfPredicted }),
    card("savings", "Savings vs " + (savings.baselineModel || "baseline"),
      cur + " " + units(saved), (line.savingsRatio ? (line.savingsRatio * 100).toFixed(1) + "% saved, " : "") +
      savingsScope + " (range only)", { "data-nanos": saved }),
    card("change", "Change vs previous period", pct(growth(spend, prevSpend)),
      "calls " + pct(growth(calls, prevCalls)) + "; previous " + showTime(start - len, s.tz) +
      " – " + showTime(start, s.tz), { "data-growth": growth(spend, prevSpend) ?? "" }));
  return cur;
}

async function chart(s, start, end, cur) {
  const bucket = s.bucket || defaultBucket(start, end);
  document.getElementById("bucket").value = bucket;
  document.getElementById("stack").value = s.stack;
  const resp = await api("QuerySpend", spendRequest(s, start, end, {
    groupBy: [DIMS[s.stack][0]], bucket: "TIME_BUCKET_" + bucket.toUpperCase() }));
  cur = await cur; // the cards' currency, once they have it
  const field = DIMS[s.stack][1];
  const buckets = new Map(); // bucket start ms -> Map(group -> nanos)
  const groupTotals = new Map();
  for (const r of resp.rows || []) {
    const at = Date.parse(r.bucketStart);
    const g = r[field] || "(none)";
    const n = nanosOf(r.cost && r.cost.total);
    if (!buckets.has(at)) buckets.set(at, new Map());
    const b = buckets.get(at);
    b.set(g, (b.get(g) || 0n) + n);
    groupTotals.set(g, (groupTotals.get(g) || 0n) + n);
  }
  // the 9 largest groups by name, the rest folded into "other"
  const ranked = [...groupTotals.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
  const shown = ranked.slice(0, ranked.length > 10 ? 9 : 10).map((x) => x[0]);
  const series = ranked.length > 10 ? [...shown, "other"] : shown;
  // the buckets with spend, and the empty ones between (the server returns no row for those)
  const times = [...new Set([...buckets.keys(), ...bucketStarts(start, end, bucket, s.tz)])]
    .sort((a, b) => a - b);
  const stacks = times.map((t) => {
    const b = buckets.get(t) || new Map();
    const values = series.map(() => 0n);
    for (const [g, n] of b) {
      const i = shown.indexOf(g);
      values[i >= 0 ? i : series.length - 1] += n;
    }
    return values;
  });
  const totals = stacks.map((v) => v.reduce((a, b) => a + b, 0n));
  const sum = totals.reduce((a, b) => a + b, 0n);
  const box = replace("chart");
  box.dataset.totalNanos = sum.toString();
  box.dataset.buckets = String(times.length);
  drawChart(box, times, series, stacks, totals, bucket, s.tz);
  replace("legend", ...series.map((g, i) => el("span", { class: "key" },
    el("span", { class: "swatch c" + (i % COLORS.length) }), g)),
  el("span", { class: "key" }, el("span", { class: "swatch trend" }), "trend"));
  const rows = times.map((t, i) => [showTime(t, s.tz, bucket === "hour"), units(totals[i]),
    i ? pct(growth(totals[i], totals[i - 1])) : "n/a"]);
  replace("buckets-table", table("buckets", ["bucket (" + s.tz + ")", "spend (" + cur + ")",
    "growth vs previous bucket"], rows, { numeric: [1, 2] }));
}

function drawChart(box, times, series, stacks, totals, bucket, tz) {
  const W = 960, H = 280, L = 70, R = 10, T = 10, B = 40;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart-svg",
    "aria-label": `spend per ${bucket}, ${times.length} buckets, stacked by ${series.length} groups` });
  if (!times.length) {
    box.append(el("p", { class: "muted", text: "No spend in this range." }));
    return;
  }
  const max = Number(totals.reduce((a, b) => (b > a ? b : a), 1n)) / 1e9;
  const plotW = W - L - R, plotH = H - T - B;
  const step = plotW / times.length;
  const y = (v) => T + plotH - (v / max) * plotH;
  for (let k = 0; k <= 4; k++) {
    const v = (max * k) / 4;
    root.append(svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid" }));
    const label = svg("text", { x: L - 6, y: y(v) + 4, class: "axis", "text-anchor": "end" });
    label.textContent = v >= 100 ? v.toFixed(0) : v.toPrecision(3);
    root.append(label);
  }
  const every = Math.max(1, Math.ceil(times.length / 12));
  times.forEach((t, i) => {
    let base = 0;
    stacks[i].forEach((n, si) => {
      const v = Number(n) / 1e9;
      if (v > 0) {
        const rect = svg("rect", { x: L + i * step + step * 0.1, width: Math.max(1, step * 0.8),
          y: y(base + v), height: Math.max(0.5, y(base) - y(base + v)),
          class: "bar c" + (si % COLORS.length) });
        const tip = svg("title", {});
        tip.textContent = `${showTime(t, tz, bucket === "hour")} ${series[si]}: ${units(n)}`;
        rect.append(tip);
        root.append(rect);
      }
      base += v;
    });
    if (i % every === 0) {
      const label = svg("text", { x: L + i * step + step / 2, y: H - B + 16, class: "axis",
        "text-anchor": "middle" });
      label.textContent = showTime(t, tz, bucket === "hour").replace(/ \d{4}/, "");
      root.append(label);
    }
  });
  // least-squares trend over the bucket totals (a guide for the eye; floats are fine here)
  if (times.length > 1) {
    const ys = totals.map((n) => Number(n) / 1e9), n = ys.length;
    const mx = (n - 1) / 2, my = ys.reduce((a, b) => a + b, 0) / n;
    let num = 0, den = 0;
    ys.forEach((v, i) => { num += (i - mx) * (v - my); den += (i - mx) ** 2; });
    const slope = den ? num / den : 0;
    const at = (i) => Math.max(0, Math.min(max, my + slope * (i - mx)));
    root.append(svg("line", { x1: L + step / 2, y1: y(at(0)), x2: L + (n - 0.5) * step,
      y2: y(at(n - 1)), class: "trend" }));
    box.dataset.trendSlope = String(slope);
  }
  box.append(root);
}

async function topTable(s, start, end, cur) {
  for (const b of document.querySelectorAll("#top-tabs button")) {
    b.setAttribute("aria-pressed", String(b.dataset.by === s.by));
  }
  const len = end - start;
  const groupBy = [DIMS[s.by][0]];
  const [now, before] = await Promise.all([
    api("QuerySpend", spendRequest(s, start, end, { groupBy })),
    api("QuerySpend", spendRequest(s, start - len, start, { groupBy })),
  ]);
  cur = await cur;
  const field = DIMS[s.by][1];
  const prev = new Map((before.rows || []).map((r) => [r[field] || "", nanosOf(r.cost && r.cost.total)]));
  const rows = (now.rows || []).map((r) => ({ name: r[field] || "", spend: nanosOf(r.cost && r.cost.total),
    calls: int(r.calls), scored: int(r.qualityCount), quality: r.qualityMean || 0 }));
  rows.sort((a, b) => (b.spend > a.spend ? 1 : b.spend < a.spend ? -1 : a.name.localeCompare(b.name)));
  const list = replace("list-" + s.by);
  for (const r of rows) if (r.name) list.append(el("option", { value: r.name }));
  const next = DRILL[s.by];
  const cells = rows.map((r) => [
    r.name ? { text: r.name, button: () => drill(s, r.name, next) } : "(unattributed)",
    units(r.spend), r.calls.toString(), units(r.calls ? divRound(r.spend, r.calls) : 0n),
    pct(growth(r.spend, prev.get(r.name) || 0n)),
    r.scored > 0n ? r.quality.toFixed(3) + " (" + r.scored + ")" : "",
  ]);
  const label = { team: "team", agent: "agent", model: "model", task_type: "task type", user: "user" }[s.by];
  replace("top-table", table("top-" + s.by, [label, "spend (" + cur + ")", "calls",
    "cost per call (" + cur + ")", "growth vs previous period", "quality (scored calls)"], cells,
  { numeric: [1, 2, 3, 4, 5], attrs: rows.map((r) => ({ "data-name": r.name, "data-nanos": r.spend,
    "data-calls": r.calls, "data-scored": r.scored,
    "data-quality": r.scored > 0n ? r.quality : "" })) }));
}

// -- recent decisions: an agent's, once the drill-down has one, a page at a time --------------

const OUTCOMES = { OUTCOME_SUCCESS: "success", OUTCOME_FAILURE: "failure", OUTCOME_RETRY: "retry",
  OUTCOME_UNSPECIFIED: "unspecified" };
const DECISIONS_PAGE = 50;
let listed = null; // this load's decisions so far: { s, start, end, cur, rows, next }

function decisionRequest(l, pageToken) {
  return { filter: filterOf(l.s), model: l.s.model, startTime: iso(l.start), endTime: iso(l.end),
           pageSize: DECISIONS_PAGE, ...(pageToken ? { pageToken } : {}) };
}

function renderDecisions(l) {
  const cells = l.rows.map((d) => {
    const reported = int(d.usageCount) > 0n;
    return [showTime(Date.parse(d.createdAt), l.s.tz), (d.attribution && d.attribution.taskType) || "",
      d.model || "", (d.complexity && d.complexity.label) || "", units(nanosOf(d.predictedCost)),
      reported ? units(nanosOf(d.actualCost)) : "",
      reported ? OUTCOMES[d.outcome || "OUTCOME_UNSPECIFIED"] || d.outcome : "not reported"];
  });
  replace("decisions", table("decisions", ["time (" + l.s.tz + ")", "task type", "model",
    "complexity", "predicted cost (" + l.cur + ")", "actual cost (" + l.cur + ")", "outcome"], cells,
  { numeric: [4, 5], attrs: l.rows.map((d) => ({ "data-decision": d.decisionId,
    "data-predicted-nanos": nanosOf(d.predictedCost),
    "data-actual-nanos": int(d.usageCount) > 0n ? nanosOf(d.actualCost) : "" })) }));
  const more = document.getElementById("decisions-more");
  more.hidden = !l.next;
  more.disabled = false;
}

async function recentDecisions(s, start, end, cur) {
  const panel = document.getElementById("decisions-panel");
  listed = null;
  if (!s.agent) { panel.hidden = true; replace("decisions"); return; }
  panel.hidden = false;
  document.getElementById("decisions-title").textContent = "Recent decisions of agent " + s.agent;
  document.getElementById("decisions-more").hidden = true;
  const l = { s, start, end, cur: "", rows: [], next: "" };
  const mine = loading;
  const resp = await api("ListDecisions", decisionRequest(l, ""));
  l.cur = await cur; // the cards' currency, once they have it
  if (mine !== loading) return; // a newer load owns the panel
  l.rows = resp.decisions || [];
  l.next = resp.nextPageToken || "";
  listed = l;
  renderDecisions(l);
}

async function moreDecisions() {
  const l = listed;
  if (!l || !l.next) return;
  const more = document.getElementById("decisions-more");
  more.disabled = true;
  try {
    const resp = await api("ListDecisions", decisionRequest(l, l.next));
    if (l !== listed) return; // the page was reloaded meanwhile
    l.rows = l.rows.concat(resp.decisions || []);
    l.next = resp.nextPageToken || "";
    renderDecisions(l);
  } catch (e) {
    more.disabled = false;
    failure("decisions", e);
  }
}

function drill(s, name, next) {
  const t = { ...s, [s.by]: name, by: next || s.by };
  writeState(t);
  load();
}

const STATES = { BUDGET_STATE_OK: "ok", BUDGET_STATE_ALERT: "alert",
  BUDGET_STATE_DOWNGRADE: "downgrade", BUDGET_STATE_THROTTLE: "throttle",
  BUDGET_STATE_EXHAUSTED: "exhausted" };

function scopeText(scope) {
  const parts = [];
  for (const [k, label] of [["team", "team"], ["agent", "agent"], ["user", "user"],
    ["taskId", "task"], ["taskType", "task type"], ["model", "model"]]) {
    if (scope && scope[k]) parts.push(label + " " + scope[k]);
  }
  return parts.join(", ") || "everything";
}

function sameScope(a, b) {
  return ["team", "agent", "user", "taskId", "taskType", "model"].every((k) => (a[k] || "") === (b[k] || ""));
}

let budgetList = null; // this load's ListBudgets, shared with the chargeback

async function budgets(s) {
  const list = await budgetList;
  const statuses = await Promise.all((list.budgets || []).map((b) => api("GetBudgetStatus", { id: b.id })));
  const items = (list.budgets || []).map((b, i) => {
    const st = statuses[i];
    const paused = (list.paused || []).some((p) => sameScope(p.scope || {}, b.scope || {}));
    const state = paused ? "paused" : STATES[st.state] || "unknown";
    const money = !!b.limit;
    const limit = money ? nanosOf(st.limit) : int(st.limitTokens);
    const spent = money ? nanosOf(st.spent) : int(st.tokensSpent);
    const held = money ? nanosOf(st.held) : int(st.tokensHeld);
    const fmt = money ? (n) => units(n) : (n) => n.toString() + " tokens";
    const f = st.forecast || {};
    const projected = money ? nanosOf(f.projectedSpend) : int(f.projectedTokens);
    const frac = (n) => (limit > 0n ? Math.min(100, Number((n * 10000n) / limit) / 100) : 0);
    const spentBar = el("span", { class: "fill spent" }), heldBar = el("span", { class: "fill held" });
    spentBar.style.width = frac(spent) + "%";
    heldBar.style.width = Math.min(100 - frac(spent), frac(held)) + "%";
    const marker = el("span", { class: "forecast-marker", title: "forecast closing spend" });
    marker.style.left = frac(projected) + "%";
    const resets = st.windowEnd ? showTime(Date.parse(st.windowEnd), s.tz) : "never (total)";
    return el("li", { class: "budget", "data-budget": b.id, "data-state": state,
      "data-spent": spent, "data-held": held, "data-limit": limit, "data-projected": projected },
    el("div", { class: "budget-head" }, el("strong", { text: b.id }),
      el("span", { class: "badge state-" + state, text: state })),
    el("div", { class: "muted", text: scopeText(b.scope) + (b.description ? " — " + b.description : "") }),
    el("div", { class: "budget-bar", role: "img", "aria-label": `spent ${fmt(spent)}, held ${fmt(held)} of ${fmt(limit)}` },
      spentBar, heldBar, f.asOf ? marker : null),
    el("div", { class: "budget-figures", text: `spent ${fmt(spent)} + held ${fmt(held)} of ${fmt(limit)} ` +
      `(${((st.usedFraction || 0) * 100).toFixed(1)}%); resets ${resets}` }),
    el("div", { class: "muted", text: f.asOf ? `forecast: closes at ${fmt(projected)} ` +
      `(${((f.projectedFraction || 0) * 100).toFixed(0)}% of the limit)` +
      (f.runOutAt ? `, runs out ${showTime(Date.parse(f.runOutAt), s.tz)}` : ", does not run out") +
      (f.alert ? " — forecast alert" : "") : "forecast: none" }));
  });
  replace("budgets", items.length ? el("ul", { class: "budgets" }, items)
    : el("p", { class: "muted", text: "No budgets in this scope." }));
}

// -- anomalies: the list since the range's start, then the live feed --------------------------

const KINDS = { ANOMALY_KIND_SPEND_SPIKE: "spend spike", ANOMALY_KIND_NEW_AGENT_SPEND: "new agent spend",
  ANOMALY_KIND_COST_PER_CALL_RISE: "cost per call rise", ANOMALY_KIND_RETRY_LOOP: "retry loop",
  ANOMALY_KIND_PREDICTION_DRIFT: "prediction drift", ANOMALY_KIND_BUDGET_FORECAST: "budget forecast" };
const seen = new Map();

function anomalyHref(a) {
  const q = new URLSearchParams();
  const from = a.windowStart ? Date.parse(a.windowStart) : Date.parse(a.detectedAt) - HOUR_MS;
  const to = a.windowEnd ? Date.parse(a.windowEnd) : from + HOUR_MS;
  q.set("from", iso(from)); q.set("to", iso(Math.max(to, from + HOUR_MS)));
  if (a.team) q.set("team", a.team);
  if (a.agent) q.set("agent", a.agent);
  q.set("bucket", "hour");
  const tz = readState().tz;
  if (tz !== "UTC") q.set("tz", tz);
  return location.pathname + "?" + q.toString();
}

function renderAnomalies(tz) {
  const list = [...seen.values()].sort((a, b) => Date.parse(b.detectedAt || 0) - Date.parse(a.detectedAt || 0));
  const rows = list.map((a) => [
    a.detectedAt ? showTime(Date.parse(a.detectedAt), tz) : "",
    KINDS[a.kind] || a.kind || "",
    [a.team && "team " + a.team, a.agent && "agent " + a.agent, a.taskId && "task " + a.taskId]
      .filter(Boolean).join(", ") || "everything",
    (a.message || "") + (a.evidence ? " [" + Object.entries(a.evidence).map(([k, v]) => k + "=" + v).join(" ") + "]" : ""),
    { text: "spend that hour", href: anomalyHref(a) },
  ]);
  replace("anomalies", table("anomalies", ["detected", "kind", "scope", "evidence", "view"], rows,
    { attrs: list.map((a) => ({ "data-anomaly": a.id, "data-kind": a.kind })) }));
}

async function anomalies(s, start) {
  const resp = await api("ListAnomalies", { since: iso(start), pageSize: 200 });
  seen.clear();
  for (const a of resp.anomalies || []) seen.set(a.id, a);
  renderAnomalies(s.tz);
}

let feed = null;
async function watch() {
  if (feed) return;
  const badge = document.getElementById("feed-state");
  feed = new AbortController();
  let delay = 1000;
  for (;;) {
    try {
      const resp = await fetch("/v1/WatchAnomalies?since=" + encodeURIComponent(iso(Date.now())),
        { headers: authHeaders(), signal: feed.signal });
      if (!resp.ok) { badge.textContent = "feed refused (" + resp.status + ")"; feed = null; return; }
      badge.textContent = "live"; badge.dataset.state = "live"; delay = 1000;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, cut); buf = buf.slice(cut + 2);
          const data = event.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data || /^event: error/m.test(event)) continue;
          const a = JSON.parse(data);
          seen.set(a.id, a);
          renderAnomalies(readState().tz);
        }
      }
    } catch (e) {
      if (feed && feed.signal.aborted) return;
    }
    badge.textContent = "reconnecting"; badge.dataset.state = "reconnecting";
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30000);
  }
}

// -- chargeback: router report chargeback's numbers, without shared costs ---------------------

async function chargeback(s) {
  const month = s.month || thisMonth(s.tz);
  document.getElementById("month").value = month;
  document.getElementById("mode").value = s.mode;
  const [start, end] = monthBounds(month, s.tz);
  const focusButton = document.getElementById("focus-export");
  focusButton.dataset.month = month;
  focusButton.onclick = () => focusCsv(month, start, end);
  const [resp, list] = await Promise.all([
    api("QuerySpend", { startTime: iso(start), endTime: iso(end), groupBy: ["SPEND_DIMENSION_TEAM"],
      timeZone: s.tz }),
    budgetList]);
  const cur = (resp.total && resp.total.cost && resp.total.cost.total && resp.total.cost.total.currencyCode) || "USD";
  // a team's budget for the month: a monthly money budget scoped to that team only
  const monthly = new Map();
  for (const b of list.budgets || []) {
    const sc = b.scope || {};
    if (b.limit && b.window === "BUDGET_WINDOW_MONTH" && sc.team &&
        !(sc.agent || sc.user || sc.taskId || sc.taskType || sc.model)) monthly.set(sc.team, nanosOf(b.limit));
  }
  const lines = (resp.rows || []).map((r) => {
    const c = r.cost || {};
    const direct = [nanosOf(c.tokens), nanosOf(c.tools), nanosOf(c.compute), nanosOf(c.humanReview)];
    const total = direct.reduce((a, b) => a + b, 0n);
    const budget = monthly.has(r.team || "") ? monthly.get(r.team || "") : null;
    return { team: r.team || "", calls: int(r.calls), tokens: tokensOf(r.tokens), direct, total, budget };
  });
  lines.sort((a, b) => (a.team === "") - (b.team === "") || (a.team < b.team ? -1 : a.team > b.team ? 1 : 0));
  const rows = lines.map((l) => [month, s.mode, l.team || "(unattributed)", l.calls.toString(),
    l.tokens.toString(), ...l.direct.map(units), units(l.total),
    l.budget === null ? "" : units(l.budget), l.budget === null ? "" : units(l.budget - l.total), cur]);
  const sum = (f) => lines.reduce((a, l) => a + f(l), 0n);
  rows.push([month, s.mode, "TOTAL", sum((l) => l.calls).toString(), sum((l) => l.tokens).toString(),
    ...[0, 1, 2, 3].map((i) => units(sum((l) => l.direct[i]))), units(sum((l) => l.total)), "", "", cur]);
  const verb = s.mode === "chargeback" ? "billed to" : "shown to (not billed)";
  replace("chargeback", table("chargeback-" + month, ["period", "mode", "team", "calls", "tokens",
    "direct_tokens", "direct_tools", "direct_compute", "direct_human_review", "total", "budget",
    "variance", "currency"], rows, { numeric: [3, 4, 5, 6, 7, 8, 9, 10, 11],
    caption: `${s.mode} ${month}: costs ${verb} teams (${cur}, ${showTime(start, s.tz, false)} – ${showTime(end, s.tz, false)} ${s.tz})`,
    attrs: [...lines.map((l) => ({ "data-team": l.team, "data-total": l.total })), { "data-team": "TOTAL", "data-total": sum((l) => l.total) }] }));
}

// the month's FOCUS rows, as the server renders them (GET /v1/focus.csv, the caller's scope)
async function focusCsv(month, start, end) {
  const status = document.getElementById("status");
  const q = new URLSearchParams({ startTime: iso(start), endTime: iso(end) });
  try {
    const resp = await fetch("/v1/focus.csv?" + q, { headers: authHeaders() });
    if (!resp.ok) {
      let message = resp.status + " " + resp.statusText;
      try { message = (await resp.json()).message || message; } catch (e) { /* not JSON */ }
      throw new Error("FOCUS export: " + message);
    }
    download("focus-" + month + ".csv", await resp.blob());
  } catch (e) {
    status.textContent = e.message;
    status.className = "error";
  }
}

// -- the page ---------------------------------------------------------------------------------

function fillForm(s) {
  const f = document.getElementById("filters");
  f.range.value = s.range;
  f.from.value = s.from; f.to.value = s.to;
  for (const k of FILTER_KEYS) f[k].value = s[k];
  f.labels.value = s.labels.join(",");
  f.tz.value = s.tz;
}

function formState() {
  const f = document.getElementById("filters");
  const s = readState();
  s.range = f.range.value;
  s.from = f.from.value.trim();
  s.to = f.to.value.trim();
  if (s.from || s.to) s.range = "custom";
  for (const k of FILTER_KEYS) s[k] = f[k].value.trim();
  s.labels = f.labels.value.split(",").map((x) => x.trim()).filter((x) => x.includes("="));
  s.tz = f.tz.value.trim() || "UTC";
  return s;
}

let loading = 0;
async function load() {
  const s = readState();
  fillForm(s);
  const mine = ++loading;
  const status = document.getElementById("status");
  const main = document.getElementById("main");
  let start, end;
  try {
    new Intl.DateTimeFormat("en", { timeZone: s.tz });
    [start, end] = period(s);
  } catch (e) {
    status.textContent = e instanceof RangeError ? "Unknown time zone: " + s.tz : e.message;
    status.className = "error";
    return;
  }
  main.dataset.start = iso(start); main.dataset.end = iso(end); main.dataset.tz = s.tz;
  main.dataset.ready = "false";
  status.className = "muted";
  status.textContent = "Loading " + showTime(start, s.tz) + " – " + showTime(end, s.tz) + " (" + s.tz + ")…";
  budgetList = api("ListBudgets", {});
  budgetList.catch(() => {});
  const problems = [];
  const run = async (id, fn) => {
    try { await fn(); } catch (e) {
      problems.push(e);
      if (id && e.httpStatus !== 401) failure(id, e);
    }
  };
  // every panel's requests at once; the chart and the top table format in the currency the
  // cards read (and wait for it only to render)
  const cardsDone = cards(s, start, end);
  const cur = cardsDone.catch(() => "USD");
  await Promise.all([
    run("cards", () => cardsDone),
    run("chart", () => chart(s, start, end, cur)),
    run("top-table", () => topTable(s, start, end, cur)),
    run("decisions", () => recentDecisions(s, start, end, cur)),
    run("budgets", () => budgets(s)),
    run("anomalies", () => anomalies(s, start)),
    run("chargeback", () => chargeback(s)),
  ]);
  const denied = problems.find((e) => e.httpStatus === 401);
  if (denied) { askKey(denied.message); return; }
  if (mine !== loading) return;
  const filters = FILTER_KEYS.filter((k) => s[k]).map((k) => k.replace("_", " ") + " " + s[k]);
  status.textContent = showTime(start, s.tz) + " – " + showTime(end, s.tz) + " (" + s.tz + ")" +
    (filters.length || s.labels.length ? "; only " + [...filters, ...s.labels].join(", ") : "") +
    (problems.length ? "; some panels failed" : "");
  main.dataset.ready = "true";
  watch();
}

function askKey(message) {
  const form = document.getElementById("auth");
  form.hidden = false;
  document.getElementById("auth-error").textContent = message || "";
  document.getElementById("auth-key").focus();
}

async function whoami() {
  const scope = document.getElementById("scope");
  scope.textContent = sessionStorage.getItem(KEY_STORE) ? "with the key you gave (its scope only)" : "no key sent";
}

function init() {
  const f = document.getElementById("filters");
  f.addEventListener("submit", (e) => { e.preventDefault(); writeState(formState()); load(); });
  f.range.addEventListener("change", () => {
    if (f.range.value !== "custom") { f.from.value = ""; f.to.value = ""; }
  });
  document.getElementById("reset").addEventListener("click", () => {
    history.pushState(null, "", location.pathname); load();
  });
  for (const [id, key] of [["bucket", "bucket"], ["stack", "stack"], ["mode", "mode"], ["month", "month"]]) {
    document.getElementById(id).addEventListener("change", (e) => {
      const s = readState(); s[key] = e.target.value; writeState(s); load();
    });
  }
  for (const b of document.querySelectorAll("#top-tabs button")) {
    b.addEventListener("click", () => { const s = readState(); s.by = b.dataset.by; writeState(s); load(); });
  }
  const auth = document.getElementById("auth");
  auth.addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY_STORE, document.getElementById("auth-key").value.trim());
    document.getElementById("auth-key").value = "";
    auth.hidden = true;
    if (feed) { feed.abort(); feed = null; }
    whoami(); load();
  });
  document.getElementById("auth-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORE);
    if (feed) { feed.abort(); feed = null; }
    auth.hidden = true; whoami(); load();
  });
  document.getElementById("key-button").addEventListener("click", () => askKey(""));
  document.getElementById("decisions-more").addEventListener("click", moreDecisions);
  window.addEventListener("popstate", load);
  whoami();
  load();
}

document.addEventListener("DOMContentLoaded", init);
