// hookline console: bulk replay, "recover failed since", and what each
// destination would receive (the event detail's preview). Loaded before
// app.js; uses its helpers (h, api, pill, jsonView, toast) at call time.
// Every value from the API goes in with textContent.
"use strict";

// ---------------------------------------------------------------- job dialog

// jobDialog asks before a bulk replay: it shows the dry run's count (what
// will be replayed), runs the job on confirmation and shows its progress.
//   title: the dialog's title
//   controls: optional elements above the count (e.g. a destination choice);
//     changing one calls refresh
//   dryRun(): the dry run's answer {count, ...} (may throw)
//   describe(sel): the sentence above the count
//   run(sel): starts the job, returns the job {id, total, ...}
//   done(job): called once the job ends
function jobDialog({ title, controls = [], dryRun, describe, run, done }) {
  const count = h("p.bulk-count#bulk-count", "Counting…");
  const text = h("p#bulk-text");
  const progress = h("div.bulk-progress#bulk-progress", { hidden: true },
    h("div.meter", h("div.fill#bulk-fill")), h("p.muted#bulk-status"));
  const ok = h("button.primary#bulk-ok", { type: "button", disabled: true }, "Replay");
  const cancel = h("button.ghost#bulk-cancel", { type: "button" }, "Cancel");
  const dlg = h("dialog.bulk#bulk",
    h("form", { onsubmit: (e) => e.preventDefault() },
      h("h2", title), controls, text, count, progress,
      h("p.hint", "Each event is queued again once; receivers get the same webhook-id (the event id) and can dedupe."),
      h("menu", cancel, ok)));
  let sel = null;
  let seq = 0;
  const refresh = async () => {
    const mine = ++seq;
    ok.disabled = true;
    count.className = "bulk-count";
    count.textContent = "Counting…";
    try {
      const s = await dryRun();
      if (mine !== seq) return;
      sel = s;
      text.textContent = describe(s);
      count.textContent = `${s.count} event${s.count === 1 ? "" : "s"} will be replayed`;
      ok.textContent = s.count ? `Replay ${s.count} event${s.count === 1 ? "" : "s"}` : "Nothing to replay";
      ok.disabled = s.count === 0;
    } catch (e) {
      if (mine !== seq) return;
      sel = null;
      count.className = "bulk-count bad";
      count.textContent = e.message;
    }
  };
  for (const c of dlg.querySelectorAll("select, input")) c.addEventListener("change", refresh);
  cancel.onclick = () => dlg.close();
  dlg.addEventListener("close", () => dlg.remove());
  ok.onclick = async () => {
    if (!sel) return;
    ok.disabled = true;
    for (const c of dlg.querySelectorAll("select, input")) c.disabled = true;
    let job;
    try {
      job = await run(sel);
    } catch (e) {
      count.className = "bulk-count bad";
      count.textContent = "Refused: " + e.message;
      return;
    }
    progress.hidden = false;
    cancel.textContent = "Close";
    for (;;) {
      const pct = job.total ? Math.round(((job.done + job.failed) / job.total) * 100) : 100;
      $("#bulk-fill").style.width = pct + "%";
      $("#bulk-status").textContent = `${job.done} of ${job.total} replayed` + (job.failed ? `, ${job.failed} failed` : "") +
        (job.state === "running" ? "…" : job.state === "done" ? ": done." : ": " + job.state + ".");
      if (job.state !== "running") break;
      await new Promise((r) => setTimeout(r, 300));
      try {
        job = await api("/api/replay/" + encodeURIComponent(job.id));
      } catch (e) {
        $("#bulk-status").textContent = "Lost the job's progress: " + e.message;
        return;
      }
    }
    dlg.dataset.state = job.state;
    ok.hidden = true;
    count.textContent = `${job.done} event${job.done === 1 ? "" : "s"} replayed` + (job.failed ? `, ${job.failed} failed` : "");
    for (const err of job.errors || []) progress.append(h("p.mono.err", `${err.event_id}: ${err.error}`));
    if (done) done(job);
  };
  document.body.append(dlg);
  dlg.showModal();
  refresh();
  return dlg;
}

function destinationChoice(id, label, all) {
  return h("label.bulk-choice", label + " ",
    h("select#" + id, all ? h("option", { value: "" }, "every matching destination") : null,
      state.config.destinations.map((d) => h("option", { value: d }, d))));
}

function describeFilters(f) {
  const parts = [];
  if (f.provider) parts.push("provider " + f.provider);
  if (f.type) parts.push("type " + f.type);
  if (f.status) parts.push("status " + f.status);
  if (f.destination) parts.push("routed to " + f.destination);
  if (f.since) parts.push("received in the last " + f.since);
  if (f.q) parts.push(`matching “${f.q}”`);
  return parts.length ? parts.join(", ") : "no filter: every stored event";
}

// ---------------------------------------------------------------- bulk replay

// bulkReplay replays every event the list's filters match, every page of it.
function bulkReplay(filters) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) p.set(k, v);
  jobDialog({
    title: "Replay every matching event",
    controls: [destinationChoice("bulk-destination", "Replay to", true)],
    dryRun: () => api("/api/replay?" + p.toString(), {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ dry_run: true }),
    }),
    describe: (s) => `Filters: ${describeFilters(filters)}; received up to ${when(s.until)}. ` +
      "Every page counts, not only the rows on screen.",
    run: (s) => api("/api/replay?" + s.query, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ destination: $("#bulk-destination").value }),
    }),
    done: (job) => {
      toast(`Replayed ${job.done} of ${job.total} events.`, job.failed > 0);
      if (state.view === "events") loadEvents();
    },
  });
}

// ---------------------------------------------------------------- recover

// recoverFailed replays, to destination only, every event whose delivery to
// it was given up since the chosen time.
function recoverFailed(destination) {
  const since = h("label.bulk-choice", "Failed in the last ",
    h("select#recover-since", ["15m", "1h", "6h", "24h", "7d"].map((w) => h("option", { value: w, selected: w === "24h" }, w))));
  jobDialog({
    title: `Recover ${destination}`,
    controls: [since],
    dryRun: () => api("/api/recover", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ destination, since: $("#recover-since").value, dry_run: true }),
    }),
    describe: (s) => `Every event whose delivery to ${destination} was given up since ${when(s.since)} is queued again, ` +
      `for ${destination} only (the other destinations keep their state).`,
    run: (s) => api("/api/recover", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ destination, since: s.since }),
    }),
    done: (job) => toast(`Recovered ${job.done} of ${job.total} events for ${destination}.`, job.failed > 0),
  });
}

// destinationFooter is a destination card's last line: the events its
// filter turned away (not attempts), and the recover button.
function destinationFooter(name, d) {
  return h("div.dfoot",
    h("span.muted", d.filtered ? `${d.filtered} filtered out` : ""),
    h("button.ghost.small", { onclick: () => recoverFailed(name), dataset: { recover: name } }, "Recover failed…"));
}

// ---------------------------------------------------------------- preview

// previewSection shows, per configured destination, what it would receive
// for ev now: its filter's answer, and the body after its transform.
function previewSection(ev) {
  const previews = ev.previews || [];
  if (previews.length === 0) return null;
  const routed = previews.filter((p) => p.matches);
  const others = previews.filter((p) => !p.matches).map((p) => p.destination);
  return h("section.previews#previews",
    h("h2", "What each destination receives"),
    routed.length === 0 ? h("p.muted", "No destination's events globs take " + ev.type + ".") : routed.map(previewCard),
    others.length ? h("p.muted.note", "Not routed to " + others.join(", ") + " (their event globs do not take " + ev.type + ").") : null);
}

function previewCard(p) {
  let verdict;
  if (p.error) verdict = [pill("error", "failed"), h("span.err", " " + p.error)];
  else if (p.filtered) verdict = [pill("filtered"), h("span.muted", " its filter says false: nothing is sent")];
  else verdict = [pill(p.transformed ? "transformed" : "as configured", "delivered"),
    p.filter !== null ? h("span.muted", " filter passes") : null,
    p.content_type ? h("span.muted.mono", " · " + p.content_type) : null];
  return h("details.preview", { dataset: { destination: p.destination, filtered: p.filtered ? "1" : "0" }, open: !p.filtered && !p.error },
    h("summary", h("strong", p.destination), " ", h("span.pill", p.type), " ", verdict),
    p.body !== null ? jsonView(p.body) : p.type === "log" && !p.filtered && !p.error ? h("p.muted", "A log destination writes a log line, no body.") : null);
}
