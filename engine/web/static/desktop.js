// The operator desktop: polls /api/desktop every second and renders it.
"use strict";

(() => {
  const { api, ApiError, flash, fillTable, duration, every } = outdial;
  const $ = (id) => document.getElementById(id);
  const STATE_LABELS = {
    connecting: "connecting phone…",
    ready: "ready",
    on_call: "on call",
    wrap_up: "wrap-up",
    paused: "paused",
  };
  let view = { callId: null, outcomesFor: null, scriptFor: null };
  let lastState = null;

  async function act(task) {
    try {
      await task();
    } catch (err) {
      if (err instanceof ApiError) flash(err.message);
      else throw err;
    }
  }

  function renderSession(data) {
    const session = data.session;
    const badge = $("state-badge");
    const state = session ? session.state : "none";
    badge.dataset.state = state;
    badge.textContent = session ? STATE_LABELS[state] || state : "not connected";
    $("start-controls").hidden = Boolean(session);
    $("session-controls").hidden = !session;
    if (!session) {
      $("state-timer").textContent = "";
      fillCampaigns(data.campaigns);
      return;
    }
    if (state === "wrap_up" && session.wrap_up_left_s !== null) {
      $("state-timer").textContent = "back to ready in " + duration(session.wrap_up_left_s);
    } else {
      const since = (Date.parse(data.now) - Date.parse(session.since)) / 1000;
      $("state-timer").textContent = "for " + duration(since);
    }
    $("btn-ready").disabled = state === "ready" || state === "on_call" || state === "connecting";
    $("btn-pause").disabled = state === "paused" || state === "on_call" || state === "connecting";
    $("btn-logout").disabled = state === "on_call";
    if (lastState !== state) refreshStats();
    lastState = state;
  }

  function fillCampaigns(campaigns) {
    const select = $("campaign-select");
    const wanted = campaigns.map((c) => String(c.id)).join(",");
    if (select.dataset.ids === wanted) return;
    select.dataset.ids = wanted;
    const options = [new Option("any campaign", "")].concat(
      campaigns.map((c) => new Option(c.name + " (" + c.kind + ")", String(c.id))));
    select.replaceChildren(...options);
  }

  function renderCall(call) {
    $("no-call").hidden = Boolean(call);
    $("call-panel").hidden = !call;
    $("script-card").hidden = !call;
    $("dispo-card").hidden = !call || Boolean(call && call.disposition);
    if (!call) {
      view.callId = null;
      return;
    }
    if (view.callId !== call.id) {
      view = { callId: call.id, outcomesFor: null, scriptFor: null };
      $("dispo-form").reset();
      $("dispo-done").hidden = true;
    }
    $("cust-name").textContent = call.customer.name || "—";
    $("cust-phone").textContent = call.customer.phone;
    $("call-campaign").textContent = call.campaign.name;
    const since = new Date(call.bridged_at).toLocaleTimeString();
    $("call-status").textContent = call.disposition
      ? "disposed: " + outcomeLabel(call, call.disposition)
      : (call.pending ? "ended, awaiting disposition (from " + since + ")" : "since " + since);
    $("btn-hangup").hidden = !call.live;
    $("identity-box").dataset.verified = String(call.identity_verified);
    $("btn-verified").hidden = call.identity_verified;
    $("identity-note").textContent = call.identity_verified
      ? "Identity verified."
      : "Identity not verified: customer details are masked. If the check fails, "
        + "end the call with the outcome \u201cwrong person\u201d.";
    renderScript(call);
    renderOutcomes(call);
  }

  function renderScript(call) {
    if (view.scriptFor === call.id) return;
    view.scriptFor = call.id;
    const script = call.script;
    ["opening", "identity_check", "purpose", "body", "closing"].forEach((part) => {
      $("script-" + part).textContent = script[part] || "—";
    });
    const items = [];
    script.questions.forEach((qa) => {
      const dt = document.createElement("dt");
      dt.textContent = qa.q;
      const dd = document.createElement("dd");
      dd.textContent = qa.a;
      items.push(dt, dd);
    });
    $("script-questions").replaceChildren(...items);
  }

  function renderOutcomes(call) {
    if (view.outcomesFor === call.id) return;
    view.outcomesFor = call.id;
    const options = [new Option("— choose —", "")].concat(
      call.outcomes.map((o) => new Option(o.label, o.code)));
    $("dispo-outcome").replaceChildren(...options);
  }

  function outcomeLabel(call, code) {
    const found = call.outcomes.find((o) => o.code === code);
    return found ? found.label : code;
  }

  async function poll() {
    const data = await api("GET", "/api/desktop");
    renderSession(data);
    renderCall(data.call);
  }

  async function refreshStats() {
    const [stats, recent] = await Promise.all([
      api("GET", "/api/desktop/stats"),
      api("GET", "/api/desktop/calls"),
    ]);
    $("stat-calls").textContent = stats.calls;
    $("stat-dispositions").textContent = stats.dispositions;
    $("stat-talk").textContent = stats.calls ? Math.round(stats.talk_s / stats.calls) : 0;
    $("stat-complaints").textContent = stats.complaints;
    fillTable($("recent-calls"), recent.calls, [
      (c) => new Date(c.bridged_at).toLocaleTimeString(),
      (c) => c.campaign_name,
      (c) => c.phone,
      (c) => c.outcome || "—",
    ]);
  }

  function setState(state, extra) {
    return act(async () => {
      const data = await api("POST", "/api/desktop/state", Object.assign({ state }, extra));
      renderSession(data);
      renderCall(data.call);
    });
  }

  function verifyIdentity() {
    return act(async () => {
      await api("POST", "/api/calls/" + encodeURIComponent(view.callId) + "/identity", {});
      await poll();
    });
  }

  function hangUp() {
    return act(async () => {
      await api("POST", "/api/calls/" + encodeURIComponent(view.callId) + "/hangup", {});
      $("btn-hangup").hidden = true;
    });
  }

  function dispositionBody() {
    const body = {
      outcome: $("dispo-outcome").value,
      notes: $("dispo-notes").value,
      refusal: $("dispo-refusal").checked,
      complaint: $("dispo-complaint").checked,
      fraud_suspected: $("dispo-fraud").checked,
      aml_suspected: $("dispo-aml").checked,
    };
    if ($("dispo-callback").value) body.callback_at = $("dispo-callback").value;
    return body;
  }

  function submitDisposition(event) {
    event.preventDefault();
    return act(async () => {
      const saved = await api("POST",
        "/api/calls/" + encodeURIComponent(view.callId) + "/disposition", dispositionBody());
      $("dispo-done").hidden = false;
      if (saved.campaign_paused) {
        flash("Disposition saved. The campaign paused itself: " + saved.campaign_paused);
      } else {
        flash("Disposition saved.", "ok");
      }
      await refreshStats();
      await poll();
    });
  }

  $("btn-start").addEventListener("click", () => {
    const value = $("campaign-select").value;
    setState("connecting", value ? { campaign_id: Number(value) } : {});
  });
  $("btn-ready").addEventListener("click", () => setState("ready"));
  $("btn-pause").addEventListener("click",
    () => setState("paused", { reason: $("pause-reason").value }));
  $("btn-logout").addEventListener("click", () => setState("logged_out"));
  $("btn-verified").addEventListener("click", verifyIdentity);
  $("btn-hangup").addEventListener("click", hangUp);
  $("dispo-form").addEventListener("submit", submitDisposition);

  every(1000, poll);
  every(15000, refreshStats);
})();
