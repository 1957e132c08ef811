// The directors' live board: polls /api/board every two seconds.
"use strict";

(() => {
  const { api, ApiError, flash, fillTable, duration, every } = outdial;
  const $ = (id) => document.getElementById(id);

  function button(label, data) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = label;
    Object.assign(b.dataset, data);
    return b;
  }

  async function act(task) {
    try {
      await task();
      await poll();
    } catch (err) {
      if (err instanceof ApiError) flash(err.message);
      else throw err;
    }
  }

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
    const calls = fillTable($("board-calls"), data.calls, [
      (c) => c.campaign,
      (c) => c.phone,
      (c) => c.state,
      (c) => c.operator || "waiting",
      (c) => (c.duration_s === null ? "" : duration(c.duration_s)),
      () => "",
    ]);
    calls.forEach((tr, i) => {
      if (!data.calls[i].operator) return;
      ["listen", "whisper", "barge"].forEach((mode) => {
        tr.lastChild.appendChild(button(mode, { call: data.calls[i].id, mode }));
      });
    });
    $("supervising-card").hidden = data.supervising.length === 0;
    const mine = fillTable($("board-supervising"), data.supervising, [
      (v) => (v.operator_id || "") + " — call " + v.call_id.slice(0, 8),
      (v) => v.mode,
      (v) => (v.joined ? "connected" : "calling your phone…"),
      () => "",
    ]);
    mine.forEach((tr, i) => {
      tr.lastChild.appendChild(button("leave", { end: String(data.supervising[i].id) }));
    });
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

  $("board-escalations").addEventListener("click", (event) => {
    const id = event.target.dataset && event.target.dataset.id;
    if (id) act(() => api("POST", "/api/escalations/" + id + "/acknowledge", {}));
  });
  $("board-calls").addEventListener("click", (event) => {
    const d = event.target.dataset || {};
    if (!d.call) return;
    act(() => api("POST", "/api/calls/" + encodeURIComponent(d.call) + "/supervise",
      { mode: d.mode }));
  });
  $("board-supervising").addEventListener("click", (event) => {
    const d = event.target.dataset || {};
    if (d.end) act(() => api("POST", "/api/supervisions/" + d.end + "/end", {}));
  });

  every(2000, poll);
})();
