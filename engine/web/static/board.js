// The directors' live board: polls /api/board every two seconds.
"use strict";

(() => {
  const { api, ApiError, flash, fillTable, duration, every } = outdial;
  const $ = (id) => document.getElementById(id);

  function percent(x) {
    return (x * 100).toFixed(1) + " %";
  }

  function contactsText(contacts) {
    return Object.keys(contacts).sort().map((k) => k + " " + contacts[k]).join(", ");
  }

  async function poll() {
    const data = await api("GET", "/api/board");
    const states = {};
    data.operators.forEach((o) => { states[o.state] = (states[o.state] || 0) + 1; });
    $("ops-summary").textContent = Object.keys(states).sort()
      .map((s) => s.replace("_", " ") + " " + states[s]).join(" · ");
    $("calls-summary").textContent = data.calls.length + " live";
    const rows = fillTable($("board-operators"), data.operators, [
      (o) => o.id + " — " + o.name,
      (o) => o.team || "",
      (o) => o.state.replace("_", " ") + (o.pause_reason ? " (" + o.pause_reason + ")" : ""),
      (o) => duration(o.in_state_s),
      (o) => (o.campaign_id === null ? "any" : "#" + o.campaign_id),
      (o) => o.calls_taken,
    ]);
    rows.forEach((tr, i) => { tr.dataset.state = data.operators[i].state; });
    fillTable($("board-calls"), data.calls, [
      (c) => c.campaign,
      (c) => c.phone,
      (c) => c.state,
      (c) => c.operator || "waiting",
      (c) => (c.duration_s === null ? "" : duration(c.duration_s)),
    ]);
    $("esc-summary").textContent = data.open_escalations + " open";
    const escalations = fillTable($("board-escalations"), data.escalations, [
      (e) => e.kind,
      (e) => "#" + e.campaign_id,
      (e) => e.operator || "",
      (e) => new Date(e.at).toLocaleTimeString(),
      (e) => e.notes,
      () => "",
    ]);
    escalations.forEach((tr, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = "Acknowledge";
      button.dataset.id = String(data.escalations[i].id);
      tr.lastChild.appendChild(button);
    });
    fillTable($("board-campaigns"), data.campaigns, [
      (c) => "#" + c.id + " " + c.name,
      (c) => c.state + (c.state_reason ? " — " + c.state_reason : ""),
      (c) => percent(c.progress),
      (c) => contactsText(c.contacts),
      (c) => c.in_progress,
      (c) => c.connected,
      (c) => c.abandoned,
      (c) => c.complaints,
      (c) => c.free_operators,
    ]);
  }

  $("board-escalations").addEventListener("click", async (event) => {
    const id = event.target.dataset && event.target.dataset.id;
    if (!id) return;
    try {
      await api("POST", "/api/escalations/" + id + "/acknowledge", {});
      await poll();
    } catch (err) {
      if (err instanceof ApiError) flash(err.message);
      else throw err;
    }
  });

  every(2000, poll);
})();
