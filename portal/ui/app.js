// The mopush portal: plain DOM code, no framework. Every value from the
// server is set with textContent, never parsed as HTML.
"use strict";

const $ = (sel) => document.querySelector(sel);
const state = { user: null, app: "", before: "", timer: 0 };

// api calls the portal API; a problem answer throws an Error whose message
// is the problem's detail (or title) and whose type is its slug.
async function api(method, path, body) {
  const opts = { method, headers: { "Mopush-Portal": "1" }, credentials: "same-origin" };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const res = await fetch("/portal/api" + path, opts);
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== "/session") signedOut();
    const err = new Error(data.detail || data.title || ("HTTP " + res.status));
    err.type = (data.type || "").split("/").pop();
    throw err;
  }
  return data;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function show(id, on) { $(id).hidden = !on; }

function signedOut() {
  state.user = null;
  clearInterval(state.timer);
  show("#main", false); show("#sign-out", false); show("#app-picker", false);
  $("#who").textContent = "";
  show("#sign-in", true);
}

async function signedIn(user) {
  state.user = user;
  show("#sign-in", false); show("#main", true); show("#sign-out", true);
  $("#who").textContent = user.email + " (" + user.role + ")";
  const canWrite = user.role === "admin" || user.role === "marketer";
  for (const b of document.querySelectorAll("[data-role]")) {
    b.hidden = b.dataset.role === "admin" ? user.role !== "admin" : !canWrite;
  }
  await loadApps();
  tab("pushes");
}

async function loadApps() {
  const { apps } = await api("GET", "/apps");
  const sel = $("#app");
  sel.replaceChildren();
  for (const a of apps) {
    const o = el("option", a.name + " (" + a.app_id + ")");
    o.value = a.app_id;
    sel.append(o);
  }
  if (apps.some((a) => a.app_id === state.app)) sel.value = state.app;
  state.app = sel.value;
  show("#app-picker", apps.length > 0);
  const body = $("#apps tbody");
  body.replaceChildren();
  for (const a of apps) {
    const tr = el("tr");
    tr.append(el("td", a.name), el("td", a.app_id), el("td", a.app_key), el("td", fmtTime(a.created_at)));
    body.append(tr);
  }
}

function fmtTime(s) { return s ? new Date(s).toLocaleString() : ""; }

function audienceText(a) {
  if (a.broadcast) return "every device";
  if (a.tags) return "tags: " + a.tags.join(", ");
  if (a.aliases) return "users: " + a.aliases.join(", ");
  if (a.device_ids) return a.device_ids.length + " device(s)";
  return "";
}

// loadPushes shows the app's newest pushes with their counts; the pushes
// tab calls it every two seconds while it is open, so the numbers are live.
async function loadPushes(append) {
  if (!state.app) { show("#pushes-empty", true); return; }
  const q = new URLSearchParams({ limit: "50" });
  const st = $("#state-filter").value;
  if (st) q.set("state", st);
  if (append && state.before) q.set("before", state.before);
  try {
    const page = await api("GET", "/apps/" + encodeURIComponent(state.app) + "/pushes?" + q);
    const body = $("#pushes tbody");
    if (!append) body.replaceChildren();
    for (const p of page.pushes) body.append(pushRow(p));
    state.before = page.next || "";
    show("#more", !!page.next);
    show("#pushes-empty", body.children.length === 0);
    $("#pushes-error").textContent = "";
    $("#live").textContent = "live, updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("#pushes-error").textContent = e.message;
  }
}

function pushRow(p) {
  const tr = el("tr");
  tr.dataset.push = p.push_id;
  const c = p.counts || {};
  tr.append(el("td", p.push_id), el("td", (p.notification || {}).title), el("td", audienceText(p.audience || {})),
    el("td", p.state, "state"), el("td", fmtTime(p.send_at)));
  for (const k of ["targeted", "delivered", "acked", "acked_within_1s", "relayed", "opened", "clicked"]) {
    tr.append(el("td", c[k] || 0, "n " + k));
  }
  const td = el("td");
  const role = state.user && state.user.role;
  if (p.state === "scheduled" && role !== "viewer") {
    const b = el("button", "Cancel", "cancel");
    b.type = "button";
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        await api("DELETE", "/apps/" + encodeURIComponent(state.app) + "/pushes/" + encodeURIComponent(p.push_id));
      } catch (e) {
        $("#pushes-error").textContent = e.message;
      }
      loadPushes(false);
    });
    td.append(b);
  }
  tr.append(td);
  return tr;
}

function tab(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.hidden = s.id !== "tab-" + name;
  clearInterval(state.timer);
  if (name === "pushes") {
    loadPushes(false);
    state.timer = setInterval(() => loadPushes(false), 2000);
  }
  if (name === "campaigns") {
    loadCampaigns();
    state.timer = setInterval(loadCampaigns, 2000);
  }
  if (name === "users") loadUsers();
  if (name === "apps") loadApps();
}

function composeBody() {
  const aud = document.querySelector("input[name=audience]:checked").value;
  const values = $("#audience-values").value.split(",").map((s) => s.trim()).filter(Boolean);
  const push = { audience: {}, notification: { title: $("#title").value } };
  if ($("#body").value) push.notification.body = $("#body").value;
  if (aud === "broadcast") push.audience.broadcast = true;
  else push.audience[aud] = values;
  const options = {};
  if (document.querySelector("input[name=when]:checked").value === "at") {
    // datetime-local is the browser's local time; send it as an instant.
    const at = $("#send-at").value;
    if (!at) throw new Error("pick a send time");
    options.send_at = new Date(at).toISOString();
  }
  if ($("#rate").value) options.rate_per_second = Number($("#rate").value);
  if (Object.keys(options).length) push.options = options;
  return push;
}

// loadCampaigns shows the app's campaigns; the numbers of the newest ten
// are their pushes' numbers summed, read again every two seconds.
async function loadCampaigns() {
  if (!state.app) return;
  const base = "/apps/" + encodeURIComponent(state.app) + "/campaigns";
  try {
    const { campaigns } = await api("GET", base);
    const details = await Promise.all(campaigns.slice(0, 10).map((c) =>
      c.pushes > 0 ? api("GET", base + "/" + encodeURIComponent(c.id)).catch(() => c) : c));
    const body = $("#campaigns tbody");
    body.replaceChildren();
    campaigns.forEach((c, i) => body.append(campaignRow(base, details[i] || c)));
    $("#campaigns-error").textContent = "";
  } catch (e) {
    $("#campaigns-error").textContent = e.message;
  }
}

function campaignRow(base, c) {
  const tr = el("tr");
  tr.dataset.campaign = c.id;
  const when = c.send_at ? fmtTime(c.send_at) + (c.local_time ? " (local)" : "") : "";
  const audience = c.all_devices ? "every device" : (c.tags || []).join(", ");
  tr.append(el("td", c.name), el("td", c.state, "state"), el("td", audience), el("td", when),
    el("td", c.sent, "n sent"));
  const counts = c.counts || {};
  for (const k of ["delivered", "acked", "acked_within_1s", "relayed", "opened", "clicked"]) {
    tr.append(el("td", counts[k] || 0, "n " + k));
  }
  const td = el("td");
  const role = state.user && state.user.role;
  const actions = { scheduled: ["pause", "cancel"], running: ["pause", "cancel"], paused: ["resume", "cancel"],
    draft: ["resume", "cancel"], done: c.local_time ? ["cancel"] : [] }[c.state] || [];
  for (const action of role === "viewer" ? [] : actions) {
    const b = el("button", action[0].toUpperCase() + action.slice(1), action);
    b.type = "button";
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await api("POST", base + "/" + encodeURIComponent(c.id) + "/" + action); }
      catch (e) { $("#campaigns-error").textContent = e.message; }
      loadCampaigns();
    });
    td.append(b);
  }
  tr.append(td);
  return tr;
}

function campaignBody() {
  const c = { name: $("#c-name").value, notification: { title: $("#c-title").value } };
  if (document.querySelector("input[name=c-audience]:checked").value === "all") c.all_devices = true;
  else c.tags = $("#c-tags").value.split(",").map((s) => s.trim()).filter(Boolean);
  if ($("#c-body").value) c.notification.body = $("#c-body").value;
  if (document.querySelector("input[name=c-when]:checked").value === "at") {
    const at = $("#c-send-at").value;
    if (!at) throw new Error("pick a send time");
    if ($("#c-local").checked) {
      // The clock as written, read in each device's zone by the server.
      c.send_at = at + (at.length === 16 ? ":00" : "") + "Z";
      c.local_time = true;
    } else {
      c.send_at = new Date(at).toISOString();
    }
  }
  if ($("#c-rate").value) c.rate_per_second = Number($("#c-rate").value);
  return c;
}

async function loadUsers() {
  try {
    const { users } = await api("GET", "/users");
    const body = $("#users tbody");
    body.replaceChildren();
    for (const u of users) {
      const tr = el("tr");
      tr.dataset.user = u.email;
      tr.append(el("td", u.email), el("td", u.name), el("td", u.role), el("td", u.apps.join(", ")),
        el("td", u.disabled ? "disabled" : "active"));
      const td = el("td");
      const toggle = el("button", u.disabled ? "Enable" : "Disable", "toggle");
      toggle.type = "button";
      toggle.addEventListener("click", async () => {
        try { await api("PATCH", "/users/" + encodeURIComponent(u.id), { disabled: !u.disabled }); }
        catch (e) { $("#user-error").textContent = e.message; }
        loadUsers();
      });
      td.append(toggle);
      tr.append(td);
      body.append(tr);
    }
  } catch (e) {
    $("#user-error").textContent = e.message;
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  $("#zone").textContent = "(your time zone: " + Intl.DateTimeFormat().resolvedOptions().timeZone + ")";
  $("#sign-in-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#sign-in-error").textContent = "";
    try {
      const user = await api("POST", "/session", { email: $("#email").value, password: $("#password").value });
      $("#password").value = "";
      await signedIn(user);
    } catch (e) {
      $("#sign-in-error").textContent = e.message;
    }
  });
  $("#sign-out").addEventListener("click", async () => {
    await api("DELETE", "/session").catch(() => {});
    signedOut();
  });
  for (const b of document.querySelectorAll("nav button")) b.addEventListener("click", () => tab(b.dataset.tab));
  $("#app").addEventListener("change", () => { state.app = $("#app").value; loadPushes(false); });
  $("#state-filter").addEventListener("change", () => loadPushes(false));
  $("#more").addEventListener("click", () => loadPushes(true));
  for (const r of document.querySelectorAll("input[name=audience]")) {
    r.addEventListener("change", () => { $("#audience-values").disabled = r.value === "broadcast" && r.checked; });
  }
  for (const r of document.querySelectorAll("input[name=when]")) {
    r.addEventListener("change", () => { $("#send-at").disabled = !(r.value === "at" && r.checked); });
  }
  $("#compose").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#compose-error").textContent = "";
    $("#compose-result").textContent = "";
    try {
      const res = await api("POST", "/apps/" + encodeURIComponent(state.app) + "/pushes", composeBody());
      $("#compose-result").textContent = "Accepted: " + res.push_id;
      $("#compose-result").dataset.push = res.push_id;
    } catch (e) {
      $("#compose-error").textContent = e.message;
    }
  });
  for (const r of document.querySelectorAll("input[name=c-audience]")) {
    r.addEventListener("change", () => { $("#c-tags").disabled = r.value === "all" && r.checked; });
  }
  for (const r of document.querySelectorAll("input[name=c-when]")) {
    r.addEventListener("change", () => {
      const at = r.value === "at" && r.checked;
      $("#c-send-at").disabled = !at;
      $("#c-local").disabled = !at;
    });
  }
  $("#campaign-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#campaign-error").textContent = "";
    try {
      await api("POST", "/apps/" + encodeURIComponent(state.app) + "/campaigns", campaignBody());
      $("#campaign-form").reset();
      $("#c-send-at").disabled = true;
      $("#c-local").disabled = true;
      $("#c-tags").disabled = false;
      loadCampaigns();
    } catch (e) {
      $("#campaign-error").textContent = e.message;
    }
  });
  $("#password-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#pw-error").textContent = "";
    $("#pw-result").textContent = "";
    try {
      await api("PUT", "/session/password", { current: $("#pw-current").value, new: $("#pw-new").value });
      $("#password-form").reset();
      $("#pw-result").textContent = "Password changed; other sessions are signed out.";
    } catch (e) {
      $("#pw-error").textContent = e.message;
    }
  });
  $("#app-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#app-error").textContent = "";
    try {
      const a = await api("POST", "/apps", { name: $("#app-name").value });
      $("#app-created").textContent = "Created " + a.name + ": app key " + a.app_key +
        ", master secret " + a.master_secret + " (shown once: keep it now)";
      await loadApps();
    } catch (e) {
      $("#app-error").textContent = e.message;
    }
  });
  $("#user-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("#user-error").textContent = "";
    try {
      await api("POST", "/users", {
        email: $("#u-email").value, name: $("#u-name").value, password: $("#u-password").value,
        role: $("#u-role").value,
        apps: $("#u-apps").value.split(",").map((s) => s.trim()).filter(Boolean),
      });
      $("#user-form").reset();
      loadUsers();
    } catch (e) {
      $("#user-error").textContent = e.message;
    }
  });
  try {
    await signedIn(await api("GET", "/session"));
  } catch {
    signedOut();
  }
});
