// The web UI's charts, drawn as SVG with no library: line charts with smoothing and a log scale,
// sweep scatter plots and parallel coordinates. app.js (loaded after) holds the DOM helpers and
// the colours they use, and the pages that call them.
"use strict";

// ---- Charts ---------------------------------------------------------------------------------
function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}
function smooth(ys, weight) {
  if (!weight) return ys;
  let last = null;
  return ys.map((y) => (last = last === null ? y : last * weight + (1 - weight) * y));
}

// A line chart of several curves: drag to zoom on steps, double-click to reset; log scale and
// smoothing from the controls the caller passes in `options`.
function lineChart(title, curves, options) {
  const box = el("div", {class: "chart", "data-metric": title});
  const W = 440, H = 240, L = 56, R = 10, T = 10, B = 24;
  let zoom = null;
  const draw = () => {
    const log = options.log && curves.every((c) => c.y.every((v) => v > 0));
    const f = (v) => (log ? Math.log10(v) : v);
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    const shown = curves.map((c) => {
      const ys = smooth(c.y, options.smooth);
      const pts = [];
      c.x.forEach((x, i) => { if (!zoom || (x >= zoom[0] && x <= zoom[1])) pts.push([x, f(ys[i])]); });
      for (const [x, y] of pts) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      return {...c, pts};
    });
    const plot = svg("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title});
    if (!isFinite(x0)) { plot.append(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle"}, "no points")); return plot; }
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y1 = y0 + 1; y0 -= 1; }
    const sx = (x) => L + (x - x0) / (x1 - x0) * (W - L - R);
    const sy = (y) => H - B - (y - y0) / (y1 - y0) * (H - T - B);
    const grid = svg("g", {class: "grid"}), axis = svg("g", {class: "axis"});
    for (const t of niceTicks(y0, y1, 5)) {
      if (t < y0 || t > y1) continue;
      grid.append(svg("line", {x1: L, x2: W - R, y1: sy(t), y2: sy(t)}));
      axis.append(svg("text", {x: L - 4, y: sy(t) + 3, "text-anchor": "end"}, formatNumber(log ? Math.pow(10, t) : t)));
    }
    for (const t of niceTicks(x0, x1, 6)) {
      if (t < x0 || t > x1) continue;
      axis.append(svg("text", {x: sx(t), y: H - 8, "text-anchor": "middle"}, formatNumber(t)));
    }
    axis.append(svg("line", {x1: L, x2: L, y1: T, y2: H - B}), svg("line", {x1: L, x2: W - R, y1: H - B, y2: H - B}));
    plot.append(grid, axis);
    for (const c of shown) {
      if (!c.pts.length) continue;
      const d = c.pts.map(([x, y], i) => (i ? "L" : "M") + sx(x).toFixed(1) + " " + sy(y).toFixed(1)).join("");
      plot.append(svg("path", {d, fill: "none", stroke: c.color, "stroke-width": 1.5, class: "curve",
                              "data-points": c.pts.length}));
      if (c.pts.length === 1) plot.append(svg("circle", {cx: sx(c.pts[0][0]), cy: sy(c.pts[0][1]), r: 3, fill: c.color}));
    }
    // Drag across steps to zoom in.
    const band = svg("rect", {class: "zoom", y: T, height: H - T - B, width: 0, x: 0});
    plot.append(band);
    let start = null;
    const toStep = (e) => {
      const r = plot.getBoundingClientRect();
      const px = (e.clientX - r.left) / r.width * W;
      return x0 + (Math.min(Math.max(px, L), W - R) - L) / (W - L - R) * (x1 - x0);
    };
    plot.addEventListener("mousedown", (e) => { start = toStep(e); });
    plot.addEventListener("mousemove", (e) => {
      if (start === null) return;
      const now = toStep(e);
      band.setAttribute("x", sx(Math.min(start, now)));
      band.setAttribute("width", Math.abs(sx(now) - sx(start)));
    });
    plot.addEventListener("mouseup", (e) => {
      const end = toStep(e);
      if (start !== null && Math.abs(end - start) > (x1 - x0) / 100) { zoom = [Math.min(start, end), Math.max(start, end)]; render(); }
      start = null;
    });
    plot.addEventListener("dblclick", () => { zoom = null; render(); });
    return plot;
  };
  const legend = el("div", {class: "legend"}, curves.map((c) => {
    const notes = [];
    if (c.total - (c.nonFinite || 0) > c.x.length) notes.push(`${c.x.length} of ${c.total - (c.nonFinite || 0)} points`);
    if (c.nonFinite) notes.push(`${c.nonFinite} not finite, left out`);
    const s = el("span", {}, c.name + (notes.length ? ` (${notes.join("; ")})` : ""));
    s.style.setProperty("--swatch", c.color);
    return s;
  }));
  const render = () => box.replaceChildren(el("h3", {}, title), draw(), legend);
  box.redraw = render;
  render();
  return box;
}

function chartControls(charts) {
  const options = {log: false, smooth: 0};
  const redraw = () => charts().forEach((c) => c.redraw());
  const controls = el("div", {class: "toolbar"},
    el("label", {}, el("input", {type: "checkbox", name: "log", onchange: (e) => { options.log = e.target.checked; redraw(); }}), " log scale"),
    el("label", {}, " smoothing ", el("input", {type: "range", name: "smooth", min: 0, max: 0.99, step: 0.01, value: 0,
      oninput: (e) => { options.smooth = Number(e.target.value); redraw(); }})),
    el("span", {class: "muted"}, "drag on a chart to zoom, double-click to reset"));
  return {options, controls};
}

function scatterChart(title, points, xLabel) {
  // points: [{x, y, color, label}]
  const W = 440, H = 220, L = 56, R = 10, T = 10, B = 28;
  const box = el("div", {class: "chart", "data-metric": title}, el("h3", {}, title));
  const plot = svg("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title});
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  if (!points.length) { box.append(el("p", {class: "muted"}, "no values yet")); return box; }
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const sx = (x) => L + (x - x0) / (x1 - x0) * (W - L - R), sy = (y) => H - B - (y - y0) / (y1 - y0) * (H - T - B);
  const axis = svg("g", {class: "axis"});
  for (const t of niceTicks(y0, y1, 5)) if (t >= y0 && t <= y1) axis.append(svg("text", {x: L - 4, y: sy(t) + 3, "text-anchor": "end"}, formatNumber(t)));
  for (const t of niceTicks(x0, x1, 6)) if (t >= x0 && t <= x1) axis.append(svg("text", {x: sx(t), y: H - 12, "text-anchor": "middle"}, formatNumber(t)));
  axis.append(svg("text", {x: W - R, y: H - 1, "text-anchor": "end"}, xLabel));
  axis.append(svg("line", {x1: L, x2: L, y1: T, y2: H - B}), svg("line", {x1: L, x2: W - R, y1: H - B, y2: H - B}));
  plot.append(axis);
  for (const p of points) plot.append(svg("circle", {cx: sx(p.x), cy: sy(p.y), r: 4, fill: p.color, class: "point"}, svg("title", {}, p.label)));
  box.append(plot);
  return box;
}

// Parallel coordinates: one axis per parameter and one for the objective, a line per trial.
function parallelCoordinates(trials, names, objective, minimize) {
  const W = 900, H = 260, T = 20, B = 30, L = 40, R = 40;
  const box = el("div", {class: "chart", id: "parallel"}, el("h3", {}, "Parameters against " + objective));
  const plot = svg("svg", {viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "parallel coordinates"});
  const axes = [...names, objective];
  const values = (t, a) => (a === objective ? t.value : t.params[a]);
  const scales = axes.map((a) => {
    const raw = trials.map((t) => values(t, a));
    const numeric = raw.every((v) => v !== undefined && !isNaN(Number(v)));
    if (numeric) {
      const nums = raw.map(Number);
      let lo = Math.min(...nums), hi = Math.max(...nums);
      if (lo === hi) { lo -= 1; hi += 1; }
      return {f: (v) => (Number(v) - lo) / (hi - lo), lo, hi};
    }
    const cats = [...new Set(raw.map(String))];
    return {f: (v) => (cats.length === 1 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)), cats};
  });
  const ax = (i) => L + i * (W - L - R) / Math.max(1, axes.length - 1);
  const ay = (u) => H - B - u * (H - T - B);
  const vs = trials.map((t) => t.value);
  const best = minimize ? Math.min(...vs) : Math.max(...vs), worst = minimize ? Math.max(...vs) : Math.min(...vs);
  for (const t of trials) {
    const good = best === worst ? 1 : (t.value - worst) / (best - worst);
    const d = axes.map((a, i) => (i ? "L" : "M") + ax(i).toFixed(1) + " " + ay(scales[i].f(values(t, a))).toFixed(1)).join("");
    plot.append(svg("path", {d, fill: "none", stroke: `hsl(${Math.round(220 * (1 - good))}, 70%, 45%)`, "stroke-width": 1.5,
                            class: "trial-line"}, svg("title", {}, "trial " + t.number + ": " + formatNumber(t.value))));
  }
  const axisGroup = svg("g", {class: "axis"});
  axes.forEach((a, i) => {
    axisGroup.append(svg("line", {x1: ax(i), x2: ax(i), y1: T, y2: H - B, stroke: "#888"}));
    axisGroup.append(svg("text", {x: ax(i), y: H - 10, "text-anchor": "middle"}, a));
    const s = scales[i];
    if (s.cats) s.cats.forEach((c) => axisGroup.append(svg("text", {x: ax(i) + 4, y: ay(s.f(c)) + 3}, c)));
    else { axisGroup.append(svg("text", {x: ax(i) + 4, y: T + 4}, formatNumber(s.hi))); axisGroup.append(svg("text", {x: ax(i) + 4, y: H - B}, formatNumber(s.lo))); }
  });
  plot.append(axisGroup);
  box.append(plot);
  return box;
}
