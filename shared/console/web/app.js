// hookline console: plain JavaScript, no build step, no dependencies.
// Every value from the API is put in the page with textContent (never as
// HTML): event bodies come from the outside world.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);

// h builds an element: h("div.cls#id", {attr: v, onclick: f}, child, ...).
function h(spec, attrs, ...children) {
  const m = spec.match(/^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i);
  const el = document.createElement(m[1] || "div");
  for (const part of (m[2] || "").match(/[.#][\w-]+/g) || []) {
    if (part[0] === ".") el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (attrs !== undefined && attrs !== null && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ---------------------------------------------------------------- API

const tokenKey = "hookline-console-token";

async function api(path, opts = {}) {
  const headers = { "X-Hookline-Console": "1", ...(opts.headers || {}) };
  const token = sessionStorage.getItem(tokenKey);
  if (token) headers.Authorization = "Bearer " + token;
  const resp = await fetch(path, { ...opts, headers });
  if (resp.status === 401) {
    await askToken();
    return api(path, opts);
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    const err = new Error(body.message || resp.statusText);
    err.status = resp.status;
    throw err;
  }
  return body;
}

let tokenAsked = null;
function askToken() {
  if (tokenAsked) return tokenAsked;
  const dlg = $("#token");
  tokenAsked = new Promise((resolve) => {
    dlg.addEventListener("close", function done() {
      dlg.removeEventListener("close", done);
      sessionStorage.setItem(tokenKey, $("#token-input").value);
      tokenAsked = null;
      resolve();
      startStream();
    });
  });
  dlg.showModal();
  return tokenAsked;
}

// ---------------------------------------------------------------- formatting

function ago(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return Math.floor(s) + "s ago";
  if (s < 3600) return Math.floor(s / 60) + "m ago";
  if (s < 86400) return Math.floor(s / 3600) + "h ago";
  return Math.floor(s / 86400) + "d ago";
}

function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function timeCell(iso) {
  return h("time", { datetime: iso, title: when(iso) }, ago(iso));
}

function ms(v) {
  if (v === undefined || v === null) return "";
  return v < 10 ? v.toFixed(2) + " ms" : v < 1000 ? v.toFixed(0) + " ms" : (v / 1000).toFixed(2) + " s";
}

function pill(text, kind) {
  return h("span.pill.s-" + (kind || text), text);
}

// JSON pretty-printed with a little colour: keys, strings, numbers, literals.
function jsonView(value) {
  const pre = h("pre.json");
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) return pre;
  const re = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    pre.append(text.slice(last, m.index));
    if (m[1] && m[2]) pre.append(h("span.j-key", m[1]), m[2]);
    else if (m[1]) pre.append(h("span.j-str", m[1]));
    else if (m[3]) pre.append(h("span.j-lit", m[3]));
    else pre.append(h("span.j-num", m[4]));
    last = m.index + m[0].length;
  }
  pre.append(text.slice(last));
  return pre;
}

// ---------------------------------------------------------------- state

const state = {
  config: { providers: [], destinations: [], statuses: [] },
  filters: { provider: "", type: "", status: "", destination: "", since: "", q: "" },
  cursors: [""], // the cursor of each page shown so far; the last is the current page
  next: "",
  fresh: 0, // new events announced while not on the first page
  view: null,
};

// ---------------------------------------------------------------- events list

function filterBar() {
  const f = state.filters;
  const select = (name, label, options) =>
    h("label", label,
      h("select", { name, onchange: (e) => setFilter(name, e.target.value) },
        h("option", { value: "" }, "all"),
        options.map(([v, t]) => h("option", { value: v, selected: f[name] === v }, t))));
  const text = (name, label, placeholder) =>
    h("label", label,
      h("input", { name, value: f[name], placeholder, type: "search", spellcheck: "false",
        onchange: (e) => setFilter(name, e.target.value.trim()) }));
  return h("form.filters#filters", { onsubmit: (e) => e.preventDefault() },
    select("provider", "Provider", state.config.providers.map((p) => [p, p])),
    text("type", "Type", "leadron.lead.*"),
    select("status", "Status", state.config.statuses.map((s) => [s, s])),
    select("destination", "Destination", state.config.destinations.map((d) => [d, d])),
    select("since", "Received", [["15m", "last 15 min"], ["1h", "last hour"], ["24h", "last 24 h"], ["7d", "last 7 days"]]),
    text("q", "Search", "event id, entity id, tenant"));
}

function setFilter(name, value) {
  state.filters[name] = value;
  state.cursors = [""];
  loadEvents();
}

function query(cursor) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(state.filters)) if (v) p.set(k, v);
  if (cursor) p.set("cursor", cursor);
  return "/api/events?" + p.toString();
}

async function showEvents() {
  state.view = "events";
  const main = $("#main");
  main.replaceChildren(
    h("section.events",
      h("div.bar", h("h1", "Events"), h("span.muted#count"),
        h("button#replay-matching.ghost.bulk-btn", { onclick: () => bulkReplay(state.filters) }, "Replay all matching…")), // ops.js
      filterBar(),
      h("div#fresh.fresh", { hidden: true, onclick: () => { state.cursors = [""]; loadEvents(); } }),
      h("div.tablewrap", h("table#events",
        h("thead", h("tr", ["Received", "Provider", "Type", "Entity", "Tenant", "Status", "Deliveries"].map((t) => h("th", t)))),
        h("tbody"))),
      h("div.pager",
        h("button#newer.ghost", { onclick: () => { state.cursors.pop(); loadEvents(); } }, "← Newer"),
        h("span.muted#page"),
        h("button#older.ghost", { onclick: () => { state.cursors.push(state.next); loadEvents(); } }, "Older →"))));
  await loadEvents();
}

let loading = 0;
async function loadEvents() {
  const seq = ++loading;
  const cursor = state.cursors[state.cursors.length - 1];
  let data;
  try {
    data = await api(query(cursor));
  } catch (e) {
    if (seq === loading) showError(e);
    return;
  }
  if (seq !== loading || state.view !== "events") return;
  state.next = data.next;
  if (cursor === "") state.fresh = 0;
  const tbody = $("#events tbody");
  tbody.replaceChildren(...data.events.map(eventRow));
  if (data.events.length === 0) {
    tbody.append(h("tr.empty", h("td", { colspan: 7 }, "No events match. Send one: go run ./cmd/hookline send leadron lead.created")));
  }
  $("#newer").disabled = state.cursors.length <= 1;
  $("#older").disabled = !data.next;
  $("#page").textContent = "page " + state.cursors.length;
  $("#count").textContent = data.events.length + (data.next ? "+" : "") + " shown, newest first";
  renderFresh();
}

function eventRow(ev) {
  const open = () => { location.hash = "#/events/" + encodeURIComponent(ev.id); };
  return h("tr.event", { dataset: { id: ev.id }, tabindex: 0, onclick: open, onkeydown: (e) => { if (e.key === "Enter") open(); } },
    h("td.time", timeCell(ev.received_at)),
    h("td", pill(ev.provider, "provider")),
    h("td.mono", ev.type),
    h("td.mono.clip", { title: ev.entity_id }, ev.entity_id || h("span.muted", "—")),
    h("td.mono.clip", { title: ev.tenant }, ev.tenant || h("span.muted", "—")),
    h("td", pill(ev.status), ev.stuck ? h("span.warn", { title: ev.stuck_reason }, " ⚠") : null),
    h("td.chips", ev.deliveries.length === 0 ? h("span.muted", "—") :
      ev.deliveries.map((d) => h("span.chip.s-" + d.state, { title: `${d.destination}: ${d.state}, ${d.attempts} attempt(s)` },
        d.destination, h("b", d.state === "filtered" ? "–" : d.attempts)))));
}

function renderFresh() {
  const el = $("#fresh");
  if (!el) return;
  el.hidden = state.fresh === 0;
  el.textContent = `${state.fresh} new event${state.fresh === 1 ? "" : "s"}: show the newest`;
}

// ---------------------------------------------------------------- event detail

async function showEvent(id) {
  state.view = "event:" + id;
  let ev;
  try {
    ev = await api("/api/events/" + encodeURIComponent(id));
  } catch (e) {
    if (state.view === "event:" + id) showError(e, e.status === 404 ? "No event with that id (it may have expired)." : null);
    return;
  }
  if (state.view !== "event:" + id) return;
  const facts = [
    ["Event id", h("span.mono", ev.id)],
    ["Type", h("span.mono", ev.type)],
    ["Provider", pill(ev.provider, "provider")],
    ["Status", pill(ev.status)],
    ["Received", when(ev.received_at)],
    ["Occurred", ev.occurred_at ? when(ev.occurred_at) : "—"],
    ["Entity", h("span.mono", ev.entity_id || "—")],
    ["Tenant", ev.tenant || "—"],
    ["Body", ev.body_bytes + " bytes"],
  ];
  $("#main").replaceChildren(h("section.detail#detail", { dataset: { id: ev.id } },
    h("div.bar",
      h("a.back", { href: "#/" }, "← Events"),
      h("h1.mono", ev.type),
      h("span.grow"),
      h("button#replay-all.primary", { onclick: () => replay(ev, "") }, "Replay")),
    ev.stuck ? h("div.banner.warn#stuck", "⚠ Stuck: " + ev.stuck_reason) : null,
    h("div.cols",
      h("div.col",
        h("dl.facts", facts.map(([k, v]) => [h("dt", k), h("dd", v)])),
        h("h2", "Deliveries"),
        ev.deliveries.length === 0 ? h("p.muted", "No destination has been attempted yet.") : ev.deliveries.map((d) => deliveryCard(ev, d)),
        Object.keys(ev.meta).length ? [h("h2", "Verified facts"), h("dl.facts", Object.entries(ev.meta).map(([k, v]) => [h("dt.mono", k), h("dd.mono", v)]))] : null),
      h("div.col",
        h("h2", "Body"), jsonView(ev.body),
        h("details", h("summary", "Normalized record"), jsonView(ev.normalized)),
        h("details", h("summary", "CloudEvent preview"), jsonView(ev.cloudevent)),
        previewSection(ev))))); // ops.js
}

function deliveryCard(ev, d) {
  const last = [d.last_status_code ? "HTTP " + d.last_status_code : "", d.last_error].filter(Boolean).join(" · ");
  const history = d.history || [];
  const plural = (n) => `${n} attempt${n === 1 ? "" : "s"}`;
  let count = plural(Math.max(history.filter((a) => a.outcome !== "filtered").length, d.attempts));
  if (d.state === "filtered") count = "its filter turned the event away: nothing sent";
  else if (history.filter((a) => a.outcome !== "filtered").length > d.attempts) count += `, ${d.attempts} since the last replay`;
  // A replay starts the numbering again: mark where each new round begins.
  const items = [];
  history.forEach((a, i) => {
    if (i > 0 && a.attempt === 1) items.push(h("li.round", h("span", "↻ replayed")));
    items.push(attemptItem(a));
  });
  return h("div.delivery", { dataset: { destination: d.destination } },
    h("div.dhead",
      h("strong", d.destination), pill(d.state),
      d.overdue || d.stuck ? h("span.pill.s-failed", d.stuck ? "stuck" : "overdue") : null,
      h("span.muted", count + (last ? " · last " + last : "")),
      d.next_attempt_at && d.state === "pending" ? h("span.muted", " · next " + when(d.next_attempt_at)) : null,
      h("span.grow"),
      h("button.ghost.small", { onclick: () => replay(ev, d.destination) }, "Replay to " + d.destination)),
    h("ol.timeline", items));
}

function attemptItem(a) {
  return h("li.attempt.o-" + a.outcome, { dataset: { outcome: a.outcome, attempt: a.attempt } },
    h("div.dot"),
    h("div.abody",
      h("div.aline",
        h("strong", "#" + a.attempt), " ", pill(a.outcome),
        a.status_code ? h("span.mono", " HTTP " + a.status_code) : null,
        a.error && a.outcome !== "filtered" ? h("span.mono.err", " " + a.error) : null,
        h("span.muted", " · " + ms(a.duration_ms) + " · "), h("span.muted", { title: a.at }, when(a.at))),
      a.response ? h("pre.response", a.response) : null));
}

function replay(ev, destination) {
  const dlg = $("#confirm");
  $("#confirm-title").textContent = destination ? `Replay to ${destination}` : "Replay to every destination";
  $("#confirm-text").textContent = `Event ${ev.id} (${ev.type}) will be queued again` +
    (destination ? ` for ${destination} only.` : " and delivered again to every matching destination.");
  dlg.returnValue = "";
  dlg.onclose = async () => {
    if (dlg.returnValue !== "ok") return;
    try {
      const r = await api(`/api/events/${encodeURIComponent(ev.id)}/replay`, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(destination ? { destination } : {}),
      });
      toast(`Replayed ${r.replayed} event: it is queued again.`);
      showEvent(ev.id);
    } catch (e) {
      toast("Replay failed: " + e.message, true);
    }
  };
  dlg.showModal();
}

// ---------------------------------------------------------------- destinations

async function showDestinations(window = "1h") {
  state.view = "destinations";
  let s;
  try {
    s = await api("/api/stats?window=" + encodeURIComponent(window));
  } catch (e) {
    showError(e);
    return;
  }
  if (state.view !== "destinations") return;
  const health = (d) => {
    if (d.attempts === 0) return d.filtered ? ["filtering", "idle"] : ["idle", "idle"];
    if (d.failed > 0 && d.success_rate < 0.5) return ["failing", "failed"];
    if (d.failed > 0 || d.retried > 0) return ["degraded", "pending"];
    return ["healthy", "delivered"];
  };
  const dests = Object.entries(s.destinations).sort(([a], [b]) => a.localeCompare(b));
  const provs = Object.entries(s.providers).sort(([a], [b]) => a.localeCompare(b));
  $("#main").replaceChildren(h("section.dests#destinations",
    h("div.bar", h("h1", "Destinations"),
      h("label.window", "Window ",
        h("select#window", { onchange: (e) => showDestinations(e.target.value) },
          ["15m", "1h", "24h", "7d"].map((w) => h("option", { value: w, selected: w === window }, w))))),
    h("div.cards", dests.length === 0 ? h("p.muted", "No destination is configured.") : dests.map(([name, d]) => {
      const [label, kind] = health(d);
      const bar = h("div.fill.s-" + kind);
      bar.style.width = (d.attempts ? Math.round(d.success_rate * 100) : 0) + "%";
      return h("div.card.dest", { dataset: { destination: name } },
        h("div.dhead", h("strong", name), pill(label, kind)),
        h("div.rate", h("span.big", d.attempts ? (d.success_rate * 100).toFixed(1) + "%" : "—"), h("span.muted", " of attempts succeeded")),
        h("div.meter", bar),
        h("div.nums",
          [["attempts", d.attempts], ["delivered", d.delivered], ["retried", d.retried],
            ["given up", d.failed], ["p50", d.attempts ? ms(d.p50_ms) : "—"], ["p99", d.attempts ? ms(d.p99_ms) : "—"]]
            .map(([k, v]) => h("div.stat", h("span.k", k), h("span.v", v)))),
        destinationFooter(name, d)); // ops.js
    })),
    h("h2", "Providers"),
    h("div.tablewrap.narrow", h("table.providers",
      h("thead", h("tr", h("th", "Provider"), ["Accepted", "Duplicate", "Rejected"].map((t) => h("th.num", t)))),
      h("tbody", provs.map(([name, p]) => h("tr", h("td", pill(name, "provider")), h("td.num", p.accepted), h("td.num", p.duplicate), h("td.num", p.rejected)))))),
    h("p.muted.note", s.counts_from === "cloudwatch"
      ? "Accepted events come from the store; duplicates and rejections from the ingest functions' CloudWatch metrics."
      : s.durable
      ? "Accepted events come from the store; duplicates and rejections are counted per minute and stored once a minute."
      : `Accepted events come from the store; duplicates and rejections are counted in memory since ${when(s.counted_since)}.`)));
  decorateDestinations(window); // charts.js
}

// ---------------------------------------------------------------- rejections

// Each reason code in words: what failed and what to check.
const reasonText = {
  missing_credentials: () => "No credential was sent: the sender did not sign this request, or sends it in another header.",
  malformed_credentials: () => "The credential is not in the expected form (a JWT, a hex HMAC, a token).",
  bad_signature: (p) => ({
    journeybee: "The JWT's signature does not match any configured secret: check the integration UUID in JourneyBee against sources.journeybee.secrets.",
    leadron: "The signature does not match any configured signing secret: check the signing secret in Leadron against sources.leadron.secrets.",
    tomba: "The token does not match any configured token: check the header value set in Tomba against sources.tomba.secrets.",
  })[p] || "The signature does not match any configured secret.",
  unsupported_algorithm: () => "The JWT is not signed with HS256 (unsigned and asymmetric tokens are refused).",
  expired: () => "The credential had expired when it arrived (JWT exp, with 60 s leeway): a late retry, or a clock far off.",
  not_yet_valid: () => "The JWT was issued in the future (iat/nbf): check the sender's clock.",
  missing_claim: () => "The JWT lacks a required claim (company_uuid, user_uuid, event_id).",
  empty_body: () => "The body was empty.",
  malformed_json: () => "The body is not valid JSON (or not UTF-8, or names a member twice).",
  invalid_payload: () => "The JSON is not a valid payload for its event type (a required field is missing or mistyped).",
  body_too_large: () => "The body is over ingest.max_body_bytes.",
  unsupported_media_type: () => "The Content-Type is not JSON.",
  method_not_allowed: () => "This route does not accept that HTTP method.",
};

function explain(r) {
  const f = reasonText[r.reason];
  return f ? f(r.provider) : "Refused: " + r.reason;
}

async function showRejections() {
  state.view = "rejections";
  let data;
  try {
    data = await api("/api/rejections?limit=200");
  } catch (e) {
    showError(e);
    return;
  }
  if (state.view !== "rejections") return;
  const kept = {}; // provider → quarantined deliveries listed
  for (const r of data.rejections) if (r.quarantined) kept[r.provider] = (kept[r.provider] || 0) + 1;
  const bulk = Object.keys(kept).sort().map((p) =>
    h("button.bulk-reverify", { dataset: { provider: p }, onclick: () => reverifyAll(p) }, `Re-verify all quarantined (${p})`));
  $("#main").replaceChildren(h("section.rejections",
    h("div.bar", h("h1", "Rejections"), h("span.muted", `${data.rejections.length} refused ${data.rejections.length === 1 ? "delivery" : "deliveries"}, newest first; no body, header value or token is shown`),
      bulk.length ? h("span.bulk", bulk) : null),
    h("div.tablewrap", h("table#rejections",
      h("thead", h("tr", ["When", "Provider", "Request", "Answer", "Why", "Body", "Headers sent", "Quarantine"].map((t) => h("th", t)))),
      h("tbody", data.rejections.length === 0
        ? h("tr.empty", h("td", { colspan: 8 }, "No delivery has been refused."))
        : data.rejections.map((r) => h("tr.rejection", { dataset: { id: r.id, reason: r.reason } },
          h("td.time", timeCell(r.at)),
          h("td", pill(r.provider, "provider")),
          h("td.mono", r.method + " " + r.route),
          h("td", h("span.pill.s-failed", String(r.status)), " ", h("span.mono", r.reason)),
          h("td.why", explain(r), r.claims ? h("div.claims", { title: "claims the refused token carried (never api_key or external_settings)" },
            Object.keys(r.claims).sort().map((k) => h("span.chip", h("b", k), r.claims[k]))) : null),
          h("td.mono", { title: "SHA-256 " + r.body_sha256 }, r.body_bytes + " B · " + r.body_sha256.slice(0, 12) + "…"),
          h("td.names", r.headers.map((n) => h("span.chip", n))),
          h("td.kept", r.quarantined
            ? [h("button.reverify", { dataset: { id: r.id }, onclick: (e) => reverifyOne(r, e.currentTarget) }, "Re-verify"),
              h("div.muted.small", { title: "kept until " + when(r.quarantine_expires_at) }, "kept " + left(r.quarantine_expires_at) + " more")]
            : h("span.muted", "—")))))))));
}

// left is the time from now until iso, roughly ("59m", "23h").
function left(iso) {
  const s = Math.max(0, (Date.parse(iso) - Date.now()) / 1000);
  if (s < 3600) return Math.ceil(s / 60) + "m";
  if (s < 86400) return Math.floor(s / 3600) + "h";
  return Math.floor(s / 86400) + "d";
}

// reverifyResult shows what re-verifying did, in the row's cell.
function reverifyResult(cell, res) {
  const out = h("div.reverified", { dataset: { status: res.status } },
    pill(res.status, res.status === "rejected" ? "failed" : "delivered"),
    res.event_id ? h("div", h("a.mono", { href: "#/events/" + encodeURIComponent(res.event_id), title: res.event_id }, "event " + res.event_id.slice(0, 10) + "…")) : null,
    res.reason ? [" ", h("span.mono", res.reason)] : null);
  cell.replaceChildren(out);
}

// reverifyOne verifies a kept delivery again with the current secrets, at
// its original receive time; a pass ingests it as a normal event.
async function reverifyOne(r, button) {
  button.disabled = true;
  try {
    const res = await api(`/api/rejections/${encodeURIComponent(r.id)}/reverify`, { method: "POST" });
    reverifyResult(button.closest("td"), res);
    toast(res.status === "accepted" ? `Accepted: event ${res.event_id}` : res.status === "duplicate"
      ? `Already ingested: event ${res.event_id}` : `Still refused: ${res.reason}`, res.status === "rejected");
  } catch (e) {
    button.disabled = false;
    toast("Re-verify failed: " + e.message, true);
  }
}

// reverifyDialog is the bulk re-verify's confirmation (built once).
function reverifyDialog() {
  let dlg = $("#reverify-confirm");
  if (dlg) return dlg;
  dlg = h("dialog#reverify-confirm", h("form", { method: "dialog" },
    h("h2#reverify-title", "Re-verify"),
    h("p#reverify-text"),
    h("p.hint", "Each kept delivery is verified again with the current secrets, with the clock at the time it came; those that pass are ingested as normal events (once: a second re-verify is a duplicate)."),
    h("menu",
      h("button.ghost#reverify-cancel", { value: "cancel" }, "Cancel"),
      h("button.primary#reverify-ok", { value: "ok" }, "Re-verify"))));
  document.body.append(dlg);
  return dlg;
}

// reverifyAll asks for the dry-run count, confirms, then re-verifies every
// delivery kept for provider.
async function reverifyAll(provider) {
  let dry;
  try {
    dry = await api("/api/rejections/reverify", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ provider, dry_run: true }),
    });
  } catch (e) {
    toast("Re-verify failed: " + e.message, true);
    return;
  }
  const dlg = reverifyDialog();
  $("#reverify-title").textContent = `Re-verify all quarantined (${provider})`;
  $("#reverify-text").textContent = `${dry.count} kept ${dry.count === 1 ? "delivery" : "deliveries"} of ${provider} will be verified again.`;
  $("#reverify-ok").disabled = dry.count === 0;
  dlg.returnValue = "";
  dlg.onclose = async () => {
    if (dlg.returnValue !== "ok") return;
    try {
      const res = await api("/api/rejections/reverify", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ provider }),
      });
      await showRejections();
      for (const x of res.results) {
        const cell = document.querySelector(`tr.rejection[data-id="${CSS.escape(x.id)}"] td.kept`);
        if (cell) reverifyResult(cell, x);
      }
      toast(`${provider}: ${res.accepted} accepted, ${res.duplicate} already ingested, ${res.rejected} still refused.`, res.rejected > 0 && res.accepted === 0);
    } catch (e) {
      toast("Re-verify failed: " + e.message, true);
    }
  };
  dlg.showModal();
}

// ---------------------------------------------------------------- live stream

let streamCtl = null;
async function startStream() {
  if (streamCtl) streamCtl.abort();
  const ctl = new AbortController();
  streamCtl = ctl;
  const live = $("#live");
  let delay = 1000;
  while (!ctl.signal.aborted) {
    try {
      const headers = {};
      const token = sessionStorage.getItem(tokenKey);
      if (token) headers.Authorization = "Bearer " + token;
      const resp = await fetch("/api/stream", { headers, signal: ctl.signal });
      if (resp.status === 401) return; // askToken restarts the stream
      if (!resp.ok) throw new Error(resp.statusText);
      live.className = "live on";
      live.textContent = "live";
      delay = 1000;
      const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) onStream(name, JSON.parse(data));
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    live.className = "live off";
    live.textContent = "reconnecting…";
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 15000);
  }
}

const debounced = {};
function soon(key, fn, wait = 250) {
  clearTimeout(debounced[key]);
  debounced[key] = setTimeout(fn, wait);
}

function onStream(name, data) {
  if (state.view === "events") {
    if (name === "event" && state.cursors.length > 1) {
      state.fresh++;
      renderFresh();
    } else if (name === "event" || name === "attempt") {
      soon("list", loadEvents);
    }
  } else if (state.view && state.view.startsWith("event:")) {
    const id = state.view.slice(6);
    if ((name === "attempt" && data.event_id === id) || (name === "event" && data.id === id)) soon("detail", () => showEvent(id));
  } else if (state.view === "rejections" && name === "rejection") {
    soon("rejections", showRejections);
  } else if (state.view === "destinations" && (name === "attempt" || name === "rejection" || name === "event")) {
    soon("dests", () => showDestinations($("#window") ? $("#window").value : "1h"), 1000);
  } else if (state.view === "charts" && (name === "attempt" || name === "rejection" || name === "event")) {
    soon("charts", () => showCharts($("#chart-window") ? $("#chart-window").value : "1h"), 2000);
  }
}

// ---------------------------------------------------------------- shell

function showError(e, text) {
  $("#main").replaceChildren(h("section.error",
    h("h1", e.status ? `Error ${e.status}` : "Cannot reach the console"),
    h("p", text || e.message),
    h("p", h("a", { href: "#/" }, "Back to the events"))));
}

function toast(text, bad) {
  const el = h("div.toast" + (bad ? ".bad" : ""), { role: "status" }, text);
  el.style.bottom = 20 + 48 * document.querySelectorAll(".toast").length + "px"; // stacked, not on top of each other
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

function route() {
  const hash = location.hash || "#/";
  const section = hash.startsWith("#/destinations") ? "destinations" : hash.startsWith("#/rejections") ? "rejections"
    : hash.startsWith("#/deadletters") ? "deadletters"
    : hash.startsWith("#/charts") ? "charts" : "events";
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.nav === section);
  const m = hash.match(/^#\/events\/(.+)$/);
  if (m) return showEvent(decodeURIComponent(m[1]));
  if (section === "destinations") return showDestinations();
  if (section === "rejections") return showRejections();
  if (section === "deadletters") return showDeadLetters();
  if (section === "charts") return showCharts(); // charts.js
  return showEvents();
}

async function start() {
  try {
    state.config = await api("/api/config");
  } catch (e) {
    showError(e);
    return;
  }
  window.addEventListener("hashchange", route);
  route();
  startStream();
  // Keep the relative times fresh.
  setInterval(() => {
    for (const t of document.querySelectorAll("time[datetime]")) t.textContent = ago(t.getAttribute("datetime"));
  }, 10000);
}

start();
