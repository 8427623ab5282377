// hookline console: the Charts page. Per bucket (a minute for windows up to
// 3 h) accepted/duplicate/rejected deliveries per provider, and attempt
// latency (p50/p99) per destination, from GET /api/stats/minutes. Drawn as
// inline SVG: no library. Loaded before app.js; uses its helpers at call time.
"use strict";

const svgNS = "http://www.w3.org/2000/svg";

// svg builds an SVG element: svg("rect", {x: 1}, child, ...).
function svg(tag, attrs, ...children) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// niceMax rounds v up to 1, 2 or 5 times a power of ten (at least min).
function niceMax(v, min = 1) {
  v = Math.max(v, min);
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function hhmm(iso) {
  const d = new Date(iso);
  return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
}

const chartW = 560, chartH = 170, padL = 52, padR = 10, padT = 10, padB = 24;

// frame draws the axes of a chart over n buckets with y from 0 to yMax.
function frame(minutes, yMax, fmtY) {
  const g = svg("g", { class: "axes" });
  const plotH = chartH - padT - padB;
  for (const f of [0, 0.5, 1]) {
    const y = padT + plotH * (1 - f);
    g.append(svg("line", { x1: padL, x2: chartW - padR, y1: y, y2: y, class: f === 0 ? "base" : "grid" }),
      svg("text", { x: padL - 6, y: y + 4, "text-anchor": "end" }, fmtY(yMax * f)));
  }
  const n = minutes.length;
  const plotW = chartW - padL - padR;
  for (const i of [0, Math.floor(n / 2), n - 1]) {
    if (i < 0 || !minutes[i]) continue;
    const x = padL + plotW * ((i + 0.5) / n);
    g.append(svg("text", { x, y: chartH - 6, "text-anchor": i === 0 ? "start" : i === n - 1 ? "end" : "middle" }, hhmm(minutes[i].at)));
  }
  return g;
}

const ingestSeries = [["accepted", "Accepted"], ["duplicate", "Duplicate"], ["rejected", "Rejected"]];

// ingestChart: stacked bars of accepted/duplicate/rejected for provider.
function ingestChart(data, provider) {
  const ms = data.minutes;
  const of = (m) => m.providers[provider] || { accepted: 0, duplicate: 0, rejected: 0 };
  const totals = { accepted: 0, duplicate: 0, rejected: 0 };
  let top = 0;
  for (const m of ms) {
    const c = of(m);
    for (const [k] of ingestSeries) totals[k] += c[k];
    top = Math.max(top, c.accepted + c.duplicate + c.rejected);
  }
  const yMax = niceMax(top);
  const plotW = chartW - padL - padR, plotH = chartH - padT - padB;
  const bw = plotW / ms.length;
  const bars = svg("g", { class: "bars" });
  ms.forEach((m, i) => {
    const c = of(m);
    let y = padT + plotH;
    for (const [k, label] of ingestSeries) {
      if (!c[k]) continue;
      const hgt = (c[k] / yMax) * plotH;
      y -= hgt;
      bars.append(svg("rect", { x: padL + i * bw + bw * 0.12, y, width: Math.max(1, bw * 0.76), height: hgt, class: "k-" + k },
        svg("title", {}, `${hhmm(m.at)} · ${label.toLowerCase()}: ${c[k]}`)));
    }
  });
  return h("div.chart.ingest", { dataset: { provider } },
    h("div.chead", pill(provider, "provider"),
      h("span.totals", ingestSeries.map(([k, label]) => h("span.tot.k-" + k, h("i"), `${label} ${totals[k]}`)))),
    svg("svg", { viewBox: `0 0 ${chartW} ${chartH}`, role: "img", "aria-label": `${provider} deliveries per ${data.step}` },
      frame(ms, yMax, (v) => (Number.isInteger(v) ? v : v.toFixed(1))), bars));
}

// latencyChart: p50 and p99 lines of destination (gaps where no attempt).
function latencyChart(data, destination) {
  const ms = data.minutes;
  const of = (m) => m.destinations[destination];
  let top = 0, attempts = 0, failed = 0, filtered = 0;
  for (const m of ms) {
    const d = of(m);
    if (d) filtered += d.filtered || 0;
    if (!d || !d.attempts) continue;
    top = Math.max(top, d.p99_ms);
    attempts += d.attempts;
    failed += d.failed;
  }
  const yMax = niceMax(top, 1);
  const plotW = chartW - padL - padR, plotH = chartH - padT - padB;
  const x = (i) => padL + plotW * ((i + 0.5) / ms.length);
  const y = (v) => padT + plotH * (1 - v / yMax);
  const lines = svg("g", { class: "lines" });
  for (const [k, cls] of [["p99_ms", "k-p99"], ["p50_ms", "k-p50"]]) {
    let d = "", pen = false;
    ms.forEach((m, i) => {
      const s = of(m);
      if (!s || !s.attempts) { pen = false; return; }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(s[k]).toFixed(1)} `;
      pen = true;
      lines.append(svg("circle", { cx: x(i), cy: y(s[k]), r: 2.6, class: cls },
        svg("title", {}, `${hhmm(m.at)} · ${k.replace("_ms", "")} ${ms_(s[k])} · ${s.attempts} attempt(s)${s.failed ? `, ${s.failed} given up` : ""}`)));
    });
    if (d) lines.prepend(svg("path", { d, class: cls }));
  }
  // Buckets with given-up attempts: a red tick on the axis.
  ms.forEach((m, i) => {
    const s = of(m);
    if (s && s.failed) lines.append(svg("rect", { x: x(i) - 2, y: padT + plotH - 5, width: 4, height: 5, class: "k-failed" },
      svg("title", {}, `${hhmm(m.at)} · ${s.failed} given up`)));
  });
  return h("div.chart.latency", { dataset: { destination } },
    h("div.chead", h("strong", destination),
      h("span.totals", h("span.tot.k-p50", h("i"), "p50"), h("span.tot.k-p99", h("i"), "p99"),
        h("span.muted", `${attempts} attempt${attempts === 1 ? "" : "s"}`),
        failed ? h("span.tot.k-failed", h("i"), `${failed} given up`) : null)),
    attempts === 0 ? h("p.muted.nodata", "No attempt in this window" + (filtered ? ` (${filtered} filtered out by its filter).` : ".")) :
      svg("svg", { viewBox: `0 0 ${chartW} ${chartH}`, role: "img", "aria-label": `${destination} latency per ${data.step}` },
        frame(ms, yMax, (v) => ms_(v)), lines));
}

function ms_(v) {
  return v >= 1000 ? (v / 1000).toFixed(v >= 10000 ? 0 : 1) + " s" : (v >= 10 || v === 0 ? v.toFixed(0) : v.toFixed(1)) + " ms";
}

async function showCharts(window = "1h") {
  state.view = "charts";
  let data;
  try {
    data = await api("/api/stats/minutes?window=" + encodeURIComponent(window));
  } catch (e) {
    showError(e);
    return;
  }
  if (state.view !== "charts") return;
  const per = data.step_seconds === 60 ? "minute" : data.step.replace(/0s$/, "").replace(/m$/, " min").replace(/h0m$/, " h").replace(/h$/, " h");
  $("#main").replaceChildren(h("section.charts#charts", { dataset: { window: data.window } },
    h("div.bar", h("h1", "Charts"), h("span.muted", `per ${per}, last ${window}`),
      h("label.window", "Window ",
        h("select#chart-window", { onchange: (e) => showCharts(e.target.value) },
          ["15m", "1h", "6h", "24h", "7d"].map((w) => h("option", { value: w, selected: w === window }, w))))),
    h("h2", "Deliveries received"),
    h("div.chartgrid", data.providers.map((p) => ingestChart(data, p))),
    h("h2", "Delivery latency"),
    data.destinations.length === 0 ? h("p.muted", "No destination is configured.") :
      h("div.chartgrid", data.destinations.map((d) => latencyChart(data, d))),
    h("p.muted.note", data.counts_from === "cloudwatch"
      ? "Accepted: stored events. Duplicates and rejections: the ingest functions' CloudWatch metrics. Latency: every recorded attempt."
      : data.durable
      ? "Accepted: stored events. Duplicates and rejections: counted per minute and stored once a minute. Latency: every recorded attempt."
      : "Accepted: stored events. Duplicates and rejections: counted in memory by this console. Latency: every recorded attempt."),
    data.sampled ? h("p.muted.note", "This window holds more events than one read covers: the counts are those of its newest events.") : null));
}

// decorateDestinations adds to each destination card of the Destinations
// page a sparkline of its attempts over the window: p50 latency per bucket,
// and a red mark where attempts were given up.
async function decorateDestinations(window) {
  let data;
  try {
    data = await api("/api/stats/minutes?window=" + encodeURIComponent(window));
  } catch (e) {
    return; // the cards stand without it
  }
  if (state.view !== "destinations") return;
  for (const card of document.querySelectorAll("#destinations .dest[data-destination]")) {
    const name = card.dataset.destination;
    const ms = data.minutes;
    let top = 0;
    for (const m of ms) {
      const d = m.destinations[name];
      if (d && d.attempts) top = Math.max(top, d.p50_ms);
    }
    const w = 240, hgt = 36, yMax = niceMax(top, 0.01);
    const x = (i) => (w * (i + 0.5)) / ms.length;
    const spark = svg("svg", { class: "spark", viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: "none", role: "img",
      "aria-label": `${name}: p50 latency per ${data.step} over ${data.window}` });
    spark.append(svg("line", { x1: 0, x2: w, y1: hgt - 1, y2: hgt - 1, class: "sbase" }));
    ms.forEach((m, i) => {
      const d = m.destinations[name];
      if (!d || !d.attempts) return;
      const bh = Math.max(2, ((hgt - 4) * d.p50_ms) / yMax);
      spark.append(svg("rect", { x: x(i) - Math.max(1, w / ms.length / 2.6), y: hgt - 1 - bh, width: Math.max(2, w / ms.length / 1.3), height: bh,
        class: d.failed ? "sfail" : "sok" }, svg("title", {}, `${hhmm(m.at)} · p50 ${ms_(d.p50_ms)} · ${d.attempts} attempt(s)` + (d.failed ? `, ${d.failed} given up` : ""))));
    });
    const old = card.querySelector(".sparkwrap");
    if (old) old.remove();
    card.querySelector(".dfoot").before(h("div.sparkwrap", h("span.k", `p50 per ${data.step_seconds === 60 ? "minute" : data.step}, last ${window}`), spark));
  }
}
