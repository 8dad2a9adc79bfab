// fabric-exp ui: one page that draws the runs, run, compare, sweeps and sweep views from the JSON
// API. Every string from the store reaches the page as a text node, never as markup.
"use strict";

const COLORS = ["#2458c6", "#d1495b", "#00798c", "#edae49", "#66a182", "#8d6a9f", "#3d405b",
                "#e07a5f", "#4f772d", "#9c6644"];
const SVG = "http://www.w3.org/2000/svg";
let pollTimer = null;

// ---- DOM helpers ----------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
function link(href, ...children) {
  return el("a", {href, onclick: (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(href);
  }}, ...children);
}
function statusCell(status) { return el("span", {class: "status status-" + status}, status); }
function when(seconds) {
  if (!seconds) return "";
  const d = new Date(seconds * 1000);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
         `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function duration(s) {
  if (s === null || s === undefined || s === "") return "";
  s = Number(s);
  if (s < 60) return s.toFixed(1) + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + String(Math.floor(s % 60)).padStart(2, "0") + " s";
  return Math.floor(s / 3600) + " h " + String(Math.floor(s / 60) % 60).padStart(2, "0") + " min";
}
function formatNumber(v) {
  if (typeof v !== "number") return v === null || v === undefined ? "" : String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

// ---- API ------------------------------------------------------------------------------------
async function api(path, params) {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== "") query.set(k, v);
  const url = "/api/" + path + (query.toString() ? "?" + query : "");
  const response = await fetch(url, {credentials: "same-origin"});
  const body = await response.json().catch(() => ({error: "the server's answer is not JSON"}));
  if (!response.ok) {
    const error = new Error(body.error || response.statusText);
    error.column = body.column;
    error.status = response.status;
    throw error;
  }
  return body;
}

// ---- Router ---------------------------------------------------------------------------------
function navigate(href) {
  history.pushState(null, "", href);
  route();
}
window.addEventListener("popstate", route);

async function route() {
  if (pollTimer) { clearTimeout(pollTimer); pollTimer = null; }
  const page = document.getElementById("page");
  const url = new URL(location.href);
  const path = url.pathname;
  page.replaceChildren(el("p", {class: "muted"}, "Loading…"));
  try {
    let view;
    if (path === "/" || path === "/runs") view = await runsPage(url.searchParams);
    else if (path.startsWith("/run/")) view = await runPage(decodeURIComponent(path.slice(5)));
    else if (path === "/compare") view = await comparePage((url.searchParams.get("runs") || "").split(",").filter(Boolean));
    else if (path === "/sweeps") view = await sweepsPage();
    else if (path.startsWith("/sweep/")) view = await sweepPage(decodeURIComponent(path.slice(7)));
    else view = el("p", {class: "error"}, "No such page.");
    page.replaceChildren(view);
  } catch (e) {
    page.replaceChildren(el("p", {class: "error"}, e.message));
  }
}

// ---- Runs -----------------------------------------------------------------------------------
async function runsPage(search) {
  const state = {
    where: search.get("where") || "", order_by: search.get("order_by") || "",
    columns: search.get("columns") || "", offset: Number(search.get("offset") || 0), limit: 50,
  };
  const selected = new Set();
  const root = el("div", {});
  const where = el("input", {type: "text", class: "where", name: "where", value: state.where,
                             placeholder: "filter, e.g. status = 'finished' and metrics.val/loss < 0.3"});
  const columns = el("input", {type: "text", name: "columns", value: state.columns,
                               placeholder: "columns, e.g. optimizer.lr, val/loss"});
  const error = el("div", {class: "error", id: "filter-error"});
  const compare = el("button", {disabled: "", onclick: () =>
    navigate("/compare?runs=" + encodeURIComponent([...selected].join(",")))}, "Compare");
  const body = el("div", {});
  const apply = () => {
    const q = new URLSearchParams();
    for (const k of ["where", "order_by", "columns"]) if (state[k]) q.set(k, state[k]);
    if (state.offset) q.set("offset", state.offset);
    history.replaceState(null, "", "/" + (q.toString() ? "?" + q : ""));
    load();
  };
  const submit = (e) => {
    e.preventDefault();
    state.where = where.value.trim();
    state.columns = columns.value.trim();
    state.offset = 0;
    apply();
  };
  root.append(el("h1", {}, "Runs"),
              el("form", {class: "toolbar", onsubmit: submit}, where, columns,
                 el("button", {type: "submit"}, "Apply"), compare),
              error, body);

  async function load() {
    let data;
    try {
      data = await api("runs", state);
      error.replaceChildren();
    } catch (e) {
      // A filter error points at its column, as the terminal's --where does.
      const text = [e.message];
      if (e.column !== undefined) text.push("\n" + state.where + "\n" + " ".repeat(Math.max(0, e.column)) + "^");
      error.replaceChildren(...text);
      body.replaceChildren();
      return;
    }
    const table = el("table", {id: "runs"});
    const head = el("tr", {}, el("th", {}, ""));
    for (const c of data.columns) {
      const sorted = state.order_by.replace(/ (asc|desc)$/i, "") === c;
      head.append(el("th", {class: "sortable", title: "sort by " + c, onclick: () => {
        state.order_by = sorted && !/ desc$/i.test(state.order_by) ? c + " desc" : c;
        state.offset = 0;
        apply();
      }}, c + (sorted ? (/ desc$/i.test(state.order_by) ? " ▼" : " ▲") : "")));
    }
    table.append(el("thead", {}, head));
    const rows = el("tbody", {});
    const idColumn = data.columns.indexOf("id");
    for (const row of data.rows) {
      const id = row[idColumn];
      const box = el("input", {type: "checkbox", "aria-label": "select " + id, onchange: (e) => {
        if (e.target.checked) selected.add(id); else selected.delete(id);
        if (selected.size >= 2) compare.removeAttribute("disabled"); else compare.setAttribute("disabled", "");
      }});
      const tr = el("tr", {"data-run": id}, el("td", {}, box));
      data.columns.forEach((c, i) => {
        const v = row[i];
        if (c === "id") tr.append(el("td", {}, link("/run/" + encodeURIComponent(v), v)));
        else if (c === "status") tr.append(el("td", {}, statusCell(v)));
        else if (c === "duration") tr.append(el("td", {class: "num"}, duration(v)));
        else if (c === "tags") tr.append(el("td", {}, String(v || "").split(/,\s*/).filter(Boolean).map((t) => el("span", {class: "tag"}, t))));
        else tr.append(el("td", {class: typeof v === "number" ? "num" : ""}, formatNumber(v)));
      });
      rows.append(tr);
    }
    table.append(rows);
    const last = state.offset + data.rows.length;
    const pager = el("div", {class: "pager"},
      el("button", {onclick: () => { state.offset = Math.max(0, state.offset - state.limit); apply(); },
                    ...(state.offset > 0 ? {} : {disabled: ""})}, "Previous"),
      el("span", {class: "muted", id: "range"},
         data.total ? `${state.offset + 1}–${last} of ${data.total}` : "no runs match"),
      el("button", {onclick: () => { state.offset += state.limit; apply(); },
                    ...(last < data.total ? {} : {disabled: ""})}, "Next"));
    body.replaceChildren(table, pager);
  }
  await load();
  return root;
}

// ---- Run ------------------------------------------------------------------------------------
function facts(pairs) {
  const dl = el("dl", {class: "facts"});
  for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== "") dl.append(el("dt", {}, k), el("dd", {}, v));
  return dl;
}
function keyValueTable(id, object) {
  const t = el("table", {id});
  for (const [k, v] of Object.entries(object || {})) t.append(el("tr", {}, el("td", {}, k), el("td", {}, typeof v === "object" ? JSON.stringify(v) : String(v))));
  return t;
}

async function runPage(ref) {
  const run = await api("runs/" + encodeURIComponent(ref));
  const root = el("div", {id: "run", "data-status": run.status});
  const live = el("span", {class: "live", id: "live"});
  root.append(el("h1", {}, run.name + " ", el("span", {class: "muted"}, run.id), " ", statusCell(run.status), " ", live));
  root.append(facts([
    ["experiment", run.experiment], ["created", when(run.created_at)], ["started", when(run.started_at)],
    ["ended", when(run.ended_at)], ["duration", duration(run.duration_s)],
    ["tags", Object.entries(run.tags || {}).map(([k, v]) => el("span", {class: "tag"}, k + "=" + v))],
    ["note", run.note], ["error", run.error ? el("span", {class: "error"}, run.error) : ""],
    ["seed", run.seed], ["processes", run.world_size], ["host", run.host], ["folder", run.run_dir],
    ["git", run.git_commit ? run.git_commit + (run.git_dirty ? " (dirty)" : "") : ""],
  ]));
  const chartsBox = el("div", {class: "charts", id: "charts"});
  // sys/: what the process and its device used (CPU %, resident memory, GPU memory and load).
  const systemBox = el("div", {class: "charts", id: "system-charts"});
  const {options, controls} = chartControls(() => [...chartsBox.children, ...systemBox.children]);
  root.append(el("h2", {}, "Metrics"), controls, chartsBox);
  const systemSection = el("section", {}, el("h2", {}, "System"), systemBox);
  root.append(systemSection);
  const drawCharts = async () => {
    const series = await api("runs/" + encodeURIComponent(run.id) + "/series", {max_points: 2000});
    const chart = ([key, s]) =>
      lineChart(key, [{name: run.name, x: s.x, y: s.y, total: s.points, nonFinite: s.non_finite, color: COLORS[0]}], options);
    const entries = Object.entries(series.series);
    chartsBox.replaceChildren(...entries.filter(([key]) => !key.startsWith("sys/")).map(chart));
    systemBox.replaceChildren(...entries.filter(([key]) => key.startsWith("sys/")).map(chart));
    systemSection.hidden = systemBox.children.length === 0;
  };
  await drawCharts();
  const log = el("pre", {id: "log"});
  const drawLog = async () => {
    const tail = await api("runs/" + encodeURIComponent(run.id) + "/log", {lines: 200});
    log.textContent = tail.lines.join("\n");
  };
  await drawLog();
  root.append(el("h2", {}, "Parameters"), keyValueTable("params", run.params));
  const artifacts = el("table", {id: "artifacts"});
  (run.artifacts || []).forEach((a, i) => artifacts.append(el("tr", {},
    el("td", {}, el("a", {href: `/api/runs/${encodeURIComponent(run.id)}/artifacts/${i}`}, a.path.split("/").pop())),
    el("td", {}, a.kind), el("td", {class: "num"}, a.bytes + " B"), el("td", {class: "muted"}, (a.sha256 || "").slice(0, 12)))));
  root.append(el("h2", {}, "Artifacts"), artifacts);
  root.append(el("h2", {}, "train.log (last lines)"), log);
  root.append(el("h2", {}, "Recipe (resolved)"), el("pre", {id: "resolved"}, run.resolved_recipe));
  root.append(el("h2", {}, "Recipe (as written)"), el("pre", {id: "recipe"}, run.recipe || ""));
  root.append(el("h2", {}, "Environment"), keyValueTable("environment", run.environment));
  // A running run updates in place: its curves, log and status every few seconds.
  if (run.status === "running" || run.status === "queued") {
    let updates = 0;
    const tick = async () => {
      try {
        const now = await api("runs/" + encodeURIComponent(run.id));
        await drawCharts();
        await drawLog();
        updates += 1;
        live.textContent = `live · updated ${updates}× · ${new Date().toLocaleTimeString()}`;
        live.setAttribute("data-updates", updates);
        if (now.status !== "running" && now.status !== "queued") { route(); return; }
      } catch (e) { live.textContent = "live update failed: " + e.message; }
      pollTimer = setTimeout(tick, 2000);
    };
    pollTimer = setTimeout(tick, 2000);
  }
  return root;
}

// ---- Compare --------------------------------------------------------------------------------
async function comparePage(refs) {
  if (refs.length < 2) return el("p", {class: "error"}, "Select two runs or more on the runs page.");
  const runs = await Promise.all(refs.map((r) => api("runs/" + encodeURIComponent(r))));
  const series = await Promise.all(runs.map((r) => api("runs/" + encodeURIComponent(r.id) + "/series", {max_points: 2000})));
  const root = el("div", {id: "compare"}, el("h1", {}, "Compare " + runs.length + " runs"));
  // The parameters that differ.
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params || {})))].sort();
  const differing = keys.filter((k) => new Set(runs.map((r) => (r.params || {})[k])).size > 1);
  const table = el("table", {id: "differing"}, el("tr", {}, el("th", {}, "parameter"), runs.map((r) => el("th", {}, link("/run/" + r.id, r.name + " " + r.id)))));
  for (const k of differing) table.append(el("tr", {}, el("td", {}, k), runs.map((r) => el("td", {}, (r.params || {})[k] ?? "—"))));
  root.append(el("h2", {}, "Parameters that differ"), differing.length ? table : el("p", {class: "muted"}, "none"));
  const metricKeys = [...new Set(series.flatMap((s) => Object.keys(s.series)))].sort();
  const chartsBox = el("div", {class: "charts", id: "charts"});
  const {options, controls} = chartControls(() => [...chartsBox.children]);
  for (const key of metricKeys) {
    const curves = [];
    series.forEach((s, i) => {
      const c = s.series[key];
      if (c) curves.push({name: runs[i].name + " " + runs[i].id, x: c.x, y: c.y, total: c.points, nonFinite: c.non_finite, color: COLORS[i % COLORS.length]});
    });
    chartsBox.append(lineChart(key, curves, options));
  }
  root.append(el("h2", {}, "Metrics"), controls, chartsBox);
  return root;
}

// ---- Sweeps ---------------------------------------------------------------------------------
async function sweepsPage() {
  const data = await api("sweeps");
  const root = el("div", {}, el("h1", {}, "Sweeps"));
  if (!data.sweeps.length) {
    root.append(el("p", {class: "muted"}, "No sweeps yet."));
    return root;
  }
  const t = el("table", {id: "sweeps"}, el("tr", {}, ["id", "name", "method", "objective", "status", "trials", "best", "created"].map((h) => el("th", {}, h))));
  for (const s of data.sweeps) {
    t.append(el("tr", {}, el("td", {}, link("/sweep/" + encodeURIComponent(s.id), s.id)), el("td", {}, s.name), el("td", {}, s.method),
                el("td", {}, s.objective + " (" + s.direction + ")"), el("td", {}, statusCell(s.status)),
                el("td", {class: "num"}, s.trials + " / " + s.max_trials), el("td", {class: "num"}, formatNumber(s.best)), el("td", {}, when(s.created_at))));
  }
  root.append(t);
  return root;
}

async function sweepPage(ref) {
  const s = await api("sweeps/" + encodeURIComponent(ref));
  const root = el("div", {id: "sweep"});
  root.append(el("h1", {}, s.name + " ", el("span", {class: "muted"}, s.id), " ", statusCell(s.status)));
  root.append(facts([["method", s.method], ["objective", s.objective + " (" + s.direction + ")"],
                     ["trials", s.trials.length + " of " + s.max_trials], ["best trial", s.best_trial]]));
  const names = [...new Set(s.trials.flatMap((t) => Object.keys(t.params)))].sort();
  const t = el("table", {id: "trials"}, el("tr", {}, ["trial", "status", s.objective, ...names, "run", "why"].map((h) => el("th", {}, h))));
  for (const trial of s.trials) {
    const why = trial.status === "pruned" && trial.pruned_rung !== null
      ? `pruned at rung ${trial.pruned_rung}: ${formatNumber(trial.pruned_value)} against ${formatNumber(trial.pruned_threshold)}`
      : trial.error;
    t.append(el("tr", {"data-trial": trial.number, class: trial.number === s.best_trial ? "best" : ""},
      el("td", {class: "num"}, trial.number + (trial.number === s.best_trial ? " ★" : "")), el("td", {}, statusCell(trial.status)),
      el("td", {class: "num"}, formatNumber(trial.value)), names.map((n) => el("td", {}, trial.params[n] ?? "")),
      el("td", {}, trial.run ? link("/run/" + encodeURIComponent(trial.run), trial.run) : ""), el("td", {class: "muted"}, why || "")));
  }
  root.append(el("h2", {}, "Trials, best first"), t);
  const done = s.trials.filter((x) => x.value !== null);
  const charts = el("div", {class: "charts", id: "charts"});
  charts.append(scatterChart(s.objective + " by trial", done.map((x) => ({x: x.number, y: x.value, label: "trial " + x.number,
    color: x.status === "pruned" ? "#b26a00" : x.number === s.best_trial ? "#1a7f37" : "#2458c6"})), "trial"));
  // Each parameter's effect: the objective against its values.
  for (const n of names) {
    const pts = done.filter((x) => !isNaN(Number(x.params[n]))).map((x) => ({x: Number(x.params[n]), y: x.value, label: "trial " + x.number, color: "#2458c6"}));
    if (pts.length) charts.append(scatterChart(s.objective + " against " + n, pts, n));
  }
  root.append(el("h2", {}, "Objective"), charts);
  if (done.length && names.length) root.append(el("h2", {}, "Parallel coordinates"), parallelCoordinates(done, names, s.objective, s.direction === "minimize"));
  const best = s.trials.find((x) => x.number === s.best_trial);
  if (best) {
    root.append(el("h2", {}, "Best trial's recipe"), el("p", {}, "trial " + best.number + ", run ", link("/run/" + encodeURIComponent(best.run), best.run)));
    const run = await api("runs/" + encodeURIComponent(best.run));
    root.append(el("pre", {id: "best-recipe"}, run.resolved_recipe));
  }
  return root;
}

route();
