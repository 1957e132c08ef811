// Shared helpers of the outdial pages: JSON calls with the CSRF token, a
// flash message, and safe DOM building (text only, never HTML strings).
"use strict";

const outdial = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const options = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrf;
      options.body = JSON.stringify(body);
    }
    const response = await fetch(path, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    if (!response.ok) {
      const err = (data && data.error) || {};
      if (response.status === 401) {
        window.location.assign("/login");
      }
      throw new ApiError(response.status, err.code || "http_error",
        err.message || "request failed (" + response.status + ")");
    }
    return data;
  }

  let flashTimer = null;
  function flash(message, kind) {
    const box = document.getElementById("flash");
    if (!box) return;
    box.textContent = message;
    box.dataset.kind = kind || "error";
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "" : String(text);
    row.appendChild(td);
    return td;
  }

  function fillTable(table, items, columns) {
    const body = table.tBodies[0];
    const rows = items.map((item) => {
      const tr = document.createElement("tr");
      columns.forEach((col) => cell(tr, col(item)));
      return tr;
    });
    body.replaceChildren(...rows);
    return rows;
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const m = Math.floor(s / 60);
    const rest = String(s % 60).padStart(2, "0");
    return m >= 60 ? Math.floor(m / 60) + "h" + String(m % 60).padStart(2, "0")
      : m + ":" + rest;
  }

  function every(ms, task) {
    let stopped = false;
    async function loop() {
      if (stopped) return;
      try {
        await task();
      } catch (err) {
        if (!(err instanceof ApiError)) console.error(err);
      }
      setTimeout(loop, ms);
    }
    loop();
    return () => { stopped = true; };
  }

  return { api, ApiError, flash, fillTable, duration, every };
})();
