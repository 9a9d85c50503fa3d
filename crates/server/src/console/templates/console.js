// The console's only script, and an optional one: every form works without
// it. With it, Register and Deregister post in the background, so the list
// stays where it is, and the rows of devices the queue is working on refresh
// in place until they settle.
"use strict";

const POLL_MS = 1000;

function rowsOf(status) {
  return Array.from(document.querySelectorAll("tr[data-mac]")).filter(
    (r) => r.querySelector(".status").textContent.trim() === status,
  );
}

function show(row, d) {
  const s = row.querySelector(".status");
  s.textContent = d.status;
  s.className = "status status-" + d.status;
  row.querySelector(".message").textContent = d.last_message || "-";
  if (d.registered_at !== undefined) {
    row.querySelector(".registered").textContent = d.registered_at
      ? d.registered_at.slice(0, 19).replace("T", " ")
      : "";
  }
}

async function refresh() {
  const pending = rowsOf("pending");
  if (pending.length > 0) {
    const qs = pending.map((r) => "mac=" + encodeURIComponent(r.dataset.mac)).join("&");
    try {
      const res = await fetch("/devices/live?" + qs, { credentials: "same-origin" });
      if (res.ok) {
        for (const d of await res.json()) {
          const row = document.querySelector('tr[data-mac="' + d.mac + '"]');
          if (row) show(row, d);
        }
      }
    } catch (e) {
      // The node may be restarting; the next round tries again.
    }
  }
  setTimeout(refresh, POLL_MS);
}

function wire(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new URLSearchParams(new FormData(form, ev.submitter));
    const notice = document.getElementById("notice");
    // Not form.action: the buttons named "action" shadow that property.
    const res = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!res.ok) {
      // The refusal is a plain page; its sentence is the paragraph after the status.
      const page = new DOMParser().parseFromString(await res.text(), "text/html");
      const said = page.querySelector("main p");
      notice.textContent = "Refused: " + (said ? said.textContent : res.statusText);
      return;
    }
    const q = await res.json();
    notice.textContent = q.queued + " device(s) queued to " + data.get("action") + ".";
    const all = data.get("all") === "1";
    for (const row of document.querySelectorAll("tr[data-mac]")) {
      const box = row.querySelector("input[name=mac]");
      if (all || box.checked) {
        show(row, { status: "pending", last_message: "" });
        box.checked = false;
      }
    }
  });
}

// Test: the result appears beside the button, the page stays.
function wireTest(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const out = form.querySelector("output");
    out.className = "";
    out.textContent = "Testing…";
    const res = await fetch(form.getAttribute("action"), {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const t = res.ok ? await res.json() : { ok: false, message: res.statusText };
    out.className = t.ok ? "ok" : "bad";
    out.textContent = t.message;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("selection");
  if (form) wire(form);
  document.querySelectorAll("form.test").forEach(wireTest);
  setTimeout(refresh, POLL_MS);
});
