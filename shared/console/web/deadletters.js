// hookline console: the Dead letters tab (GET /api/deadletters, POST
// /api/deadletters/redrive). Loaded before app.js; uses its h, api, pill,
// timeCell, toast and showError when the tab is shown.
"use strict";

// redriveDialog asks to confirm a redrive, showing the dry run's count.
function redriveDialog(title, text, onOK) {
  let dlg = document.getElementById("redrive-confirm");
  if (!dlg) {
    dlg = h("dialog#redrive-confirm",
      h("form", { method: "dialog" },
        h("h2#redrive-title"), h("p#redrive-text"),
        h("p.hint", "The messages go back on the queue; the processor delivers to the destinations that do not have the event yet."),
        h("menu",
          h("button#redrive-cancel.ghost", { value: "cancel" }, "Cancel"),
          h("button#redrive-ok.primary", { value: "ok" }, "Redrive"))));
    document.body.append(dlg);
  }
  document.getElementById("redrive-title").textContent = title;
  document.getElementById("redrive-text").textContent = text;
  dlg.returnValue = "";
  dlg.onclose = () => { if (dlg.returnValue === "ok") onOK(); };
  dlg.showModal();
}

// redrive counts (dry run) what eventID ("" for all) would move, asks, then
// moves it.
async function redrive(eventID) {
  const body = (dry) => JSON.stringify(eventID ? { event_id: eventID, dry_run: dry } : { dry_run: dry });
  const post = (dry) => api("/api/deadletters/redrive", { method: "POST", headers: { "Content-Type": "application/json" }, body: body(dry) });
  let count;
  try {
    count = (await post(true)).count;
  } catch (e) {
    toast("Dry run failed: " + e.message, true);
    return;
  }
  const what = `${count} dead-lettered message${count === 1 ? "" : "s"}`;
  redriveDialog(eventID ? `Redrive ${eventID}` : "Redrive every dead letter", `${what} will go back on the queue.`, async () => {
    try {
      const r = await post(false);
      toast(`Redrove ${r.redriven} message${r.redriven === 1 ? "" : "s"}.`);
    } catch (e) {
      toast("Redrive failed: " + e.message, true);
    }
    showDeadLetters();
  });
}

async function showDeadLetters() {
  state.view = "deadletters";
  let data;
  try {
    data = await api("/api/deadletters?limit=200");
  } catch (e) {
    showError(e);
    return;
  }
  if (state.view !== "deadletters") return;
  const n = data.dead_letters.length;
  $("#main").replaceChildren(h("section.deadletters",
    h("div.bar", h("h1", "Dead letters"),
      h("span.muted", data.available
        ? `${n} message${n === 1 ? "" : "s"} the queue gave up on`
        : data.message),
      h("span.grow"),
      data.available ? h("button#redrive-all.primary", { disabled: n === 0, onclick: () => redrive("") }, "Redrive all") : null),
    data.available ? h("div.tablewrap", h("table#deadletters",
      h("thead", h("tr", ["When", "Event", "Provider", "Type", "Receives", "Status", "Why", ""].map((t) => h("th", t)))),
      h("tbody", n === 0
        ? h("tr.empty", h("td", { colspan: 8 }, "No dead letters: every message was processed."))
        : data.dead_letters.map((d) => h("tr.deadletter", { dataset: { id: d.event_id } },
          h("td.time", d.at ? timeCell(d.at) : "—"),
          h("td.mono", h("a", { href: "#/events/" + encodeURIComponent(d.event_id) }, d.event_id)),
          h("td", d.provider ? pill(d.provider, "provider") : "—"),
          h("td.mono", d.type),
          h("td.num", d.receive_count),
          h("td", d.status ? pill(d.status) : "—"),
          h("td.why", d.reason),
          h("td", h("button.ghost.small.redrive", { onclick: () => redrive(d.event_id) }, "Redrive"))))))) : null,
    h("p.muted.note", "On AWS the list is read from the dead-letter queue by receiving its messages and making them visible again at once: each look adds one to a message's receive count.")));
}
