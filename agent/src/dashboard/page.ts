/**
 * The dashboard page: plain HTML and a script, no build step. It polls `/v1/dashboard` every 2 s and
 * draws, per function, its containers and their states, queue and in-flight counts, the autoscaler's
 * recent decisions with their reasons, and three charts of the last hour (throughput and failures,
 * latency p50/p95, containers and queue depth); then the last failed calls. Every value from the agent
 * is put in the page as text (textContent), never as markup.
 */
export const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>warmpool</title>
<link rel="stylesheet" href="/dashboard/uPlot.min.css">
<script src="/dashboard/uPlot.min.js"></script>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
  header { background: #1b1f24; color: #fff; padding: 10px 20px; display: flex; gap: 20px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  main { padding: 16px 20px; }
  .fn { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
  .fn h2 { font-size: 16px; margin: 0 0 6px; }
  .stats span { margin-right: 18px; }
  .charts { display: flex; flex-wrap: wrap; gap: 12px; margin: 8px 0; }
  table { border-collapse: collapse; font-size: 13px; }
  td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
  .state-ready { color: #1a7f37; } .state-starting { color: #9a6700; } .state-draining { color: #8250df; }
  .reason { font-family: ui-monospace, monospace; font-size: 12px; }
  #login { max-width: 420px; margin: 60px auto; background: #fff; padding: 20px; border: 1px solid #dde1e6; border-radius: 6px; }
  #error { color: #cf222e; }
</style>
</head>
<body>
<header><h1>warmpool</h1><span id="where"></span><span id="updated"></span><span id="error"></span></header>
<form id="login" hidden><p>This agent's API token (shown when it first started, or in its state dir):</p>
<input id="token" type="password" size="40" autocomplete="off"> <button>Open</button></form>
<main id="main"></main>
<script>
"use strict";
const el = (tag, attrs = {}, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
};
let token = null;
let timer = null;
const login = document.getElementById("login");
function takeHash() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) { sessionStorage.setItem("warmpool-token", fromHash); history.replaceState(null, "", location.pathname); }
  token = sessionStorage.getItem("warmpool-token");
}
function start() { clearTimeout(timer); login.hidden = true; poll(); }
takeHash();
window.addEventListener("hashchange", () => { takeHash(); start(); });
login.addEventListener("submit", (e) => { e.preventDefault(); token = document.getElementById("token").value.trim(); sessionStorage.setItem("warmpool-token", token); start(); });
const charts = new Map();
function chart(id, parent, title, series, data) {
  const opts = { title, width: 420, height: 160, series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 1.5, spanGaps: true, points: { show: true, size: 4 } }))], axes: [{}, { size: 50 }], legend: { show: true } };
  let c = charts.get(id);
  if (c === undefined || !document.body.contains(c.root)) { c = new uPlot(opts, data, parent); charts.set(id, c); }
  else { parent.append(c.root); c.setData(data); }
}
function render(snap) {
  document.getElementById("where").textContent = snap.url;
  document.getElementById("updated").textContent = "updated " + new Date(snap.now).toLocaleTimeString();
  const main = document.getElementById("main");
  main.replaceChildren();
  for (const app of snap.apps) for (const fn of app.functions) {
    const s = fn.status;
    const ready = fn.containers.filter((c) => c.state === "ready").length;
    const card = el("section", { class: "fn", "data-function": fn.key },
      el("h2", {}, fn.key + "  ", el("small", {}, fn.runtime + " · " + fn.handler)),
      el("div", { class: "stats" },
        el("span", { "data-stat": "containers" }, "containers " + fn.containers.length),
        el("span", {}, "ready " + ready),
        el("span", {}, "desired " + s.replicas),
        el("span", { "data-stat": "queued" }, "queued " + s.queueDepth),
        el("span", {}, "in flight " + s.inFlight),
        el("span", {}, "bounds [" + fn.autoscaler.minContainers + ", " + fn.autoscaler.maxContainers + "]"),
        s.lastStartError ? el("span", { id: "start-error" }, "start failures " + s.startFailures + ": " + s.lastStartError) : ""));
    const box = el("div", { class: "charts" });
    card.append(box);
    const t = fn.series.map((p) => p.t / 1000);
    chart(fn.key + "/calls", box, "calls per 10 s", [["calls", "#0969da"], ["failed", "#cf222e"]], [t, fn.series.map((p) => p.calls), fn.series.map((p) => p.failed)]);
    chart(fn.key + "/latency", box, "latency (ms)", [["p50", "#1a7f37"], ["p95", "#9a6700"]], [t, fn.series.map((p) => p.p50), fn.series.map((p) => p.p95)]);
    chart(fn.key + "/load", box, "containers and queue", [["containers", "#8250df"], ["queued", "#bc4c00"], ["in flight", "#0969da"]], [t, fn.series.map((p) => p.containers), fn.series.map((p) => p.queued), fn.series.map((p) => p.inFlight)]);
    const rows = fn.containers.map((c) => el("tr", {}, el("td", {}, c.id), el("td", { class: "state-" + c.state }, c.state), el("td", {}, "in flight " + c.inFlight), el("td", {}, "served " + c.served), el("td", {}, c.ref ?? "")));
    if (rows.length > 0) card.append(el("table", {}, el("tr", {}, el("th", {}, "container"), el("th", {}, "state"), el("th", {}, ""), el("th", {}, ""), el("th", {}, "")), ...rows));
    const decisions = fn.decisions.slice(-5).reverse().map((d) => el("tr", {}, el("td", {}, new Date(d.at).toLocaleTimeString()), el("td", { class: "reason" }, d.reason)));
    if (decisions.length > 0) card.append(el("h3", {}, "autoscaler decisions"), el("table", { class: "decisions" }, ...decisions));
    main.append(card);
  }
  if (snap.failures.length > 0) {
    main.append(el("h2", {}, "recent failed calls"), el("table", { id: "failures" }, ...snap.failures.slice().reverse().map((f) =>
      el("tr", {}, el("td", {}, new Date(f.at).toLocaleTimeString()), el("td", {}, f.function), el("td", {}, f.callId), el("td", {}, f.type + ": " + f.message)))));
  }
}
async function poll() {
  if (!token) { login.hidden = false; return; }
  try {
    const res = await fetch("/v1/dashboard", { headers: { authorization: "Bearer " + token } });
    if (res.status === 401 || res.status === 403) { sessionStorage.removeItem("warmpool-token"); token = null; login.hidden = false; document.getElementById("error").textContent = "the token was refused"; return; }
    if (!res.ok) throw new Error("the agent answered " + res.status);
    document.getElementById("error").textContent = "";
    render(await res.json());
    document.body.dataset.loaded = "true";
  } catch (err) {
    document.getElementById("error").textContent = String(err.message ?? err);
  }
  timer = setTimeout(poll, 2000);
}
poll();
</script>
</body>
</html>
`;
