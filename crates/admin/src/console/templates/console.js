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
    const done = await res.json();
    notice.textContent = done.message;
    if (done.all && data.get("action") === "delete") {
      // Which rows went is not listed for "all that match": show the list anew.
      window.location.reload();
      return;
    }
    const pending = new Set(done.pending);
    const removed = new Set(done.removed);
    for (const row of document.querySelectorAll("tr[data-mac]")) {
      row.querySelector("input[name=mac]").checked = false;
      if (removed.has(row.dataset.mac)) row.remove();
      else if (done.all || pending.has(row.dataset.mac)) show(row, { status: "pending", last_message: "" });
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

// Import: the chosen file goes up as it is, with a progress bar, and the
// report replaces the old one; pasted text goes up the same way.
function wireImport(form) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = document.getElementById("i-file").files[0];
    const body = file || new Blob([document.getElementById("i-csv").value]);
    const dry = document.getElementById("i-dry").checked;
    const bar = document.getElementById("i-progress");
    const report = document.getElementById("report");
    bar.hidden = false;
    bar.value = 0;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action") + (dry ? "?dry_run=1" : ""));
    xhr.setRequestHeader("Content-Type", "text/csv");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRF-Token", form.querySelector("input[name=csrf]").value);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total);
    };
    xhr.onload = () => {
      bar.value = 100;
      let r;
      try {
        r = JSON.parse(xhr.responseText);
      } catch (e) {
        report.textContent = "Refused (" + xhr.status + ").";
        return;
      }
      report.replaceChildren();
      const p = document.createElement("p");
      if (r.problems.length) {
        p.className = "error";
        p.textContent = r.problems.length + " problem(s) in " + r.rows + " row(s); nothing was imported.";
        const table = document.createElement("table");
        table.innerHTML = "<thead><tr><th>Row</th><th>Column</th><th>Why</th></tr></thead>";
        const tb = document.createElement("tbody");
        for (const pr of r.problems) {
          const tr = document.createElement("tr");
          for (const v of [pr.row, pr.column, pr.reason]) {
            const td = document.createElement("td");
            td.textContent = v;
            tr.appendChild(td);
          }
          tb.appendChild(tr);
        }
        table.appendChild(tb);
        report.append(p, table);
      } else {
        p.className = "ok";
        p.textContent = r.dry_run
          ? "All " + r.rows + " row(s) are good; nothing was written (dry run)."
          : r.created + " device(s) imported.";
        report.append(p);
      }
    };
    xhr.send(body);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const imp = document.getElementById("import");
  if (imp) wireImport(imp);
  const form = document.getElementById("selection");
  if (form) wire(form);
  document.querySelectorAll("form.test").forEach(wireTest);
  setTimeout(refresh, POLL_MS);
});
