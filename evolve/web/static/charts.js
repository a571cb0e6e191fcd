// Draws the run dashboard from the JSON the server embeds in #chart-data, and, while the
// run is in progress, polls the same JSON and redraws in place.
// Plain SVG, no library: the UI must work offline and a 10,000-candidate run must draw fast,
// so every series is one <path> element rather than one element per point.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 300, M = { l: 56, r: 12, t: 10, b: 34 };
  const COLORS = ["#0b63c5", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#57606a"];
  const POLL_MS = 5000, STALLED_POLL_MS = 30000;
  const view = { ymin: null, ymax: null, gx: 0, gy: 1 };
  let current = null;

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, s, anchor, cls) {
    const t = el("text", { x: x, y: y, "text-anchor": anchor || "start" }, parent);
    if (cls) t.setAttribute("class", cls);
    t.textContent = s;
    return t;
  }
  function fmt(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
    return String(Math.round(v * 1000) / 1000);
  }
  function scale(lo, hi, a, b) {
    if (hi === lo) { lo -= 1; hi += 1; }
    const k = (b - a) / (hi - lo);
    return (v) => a + (v - lo) * k;
  }
  function ticks(lo, hi, n, integer) {
    if (hi === lo) return [lo];
    if (integer) {
      const step = Math.max(1, Math.ceil((hi - lo) / n));
      const out = [];
      for (let v = Math.ceil(lo); v <= hi; v += step) out.push(v);
      return out;
    }
    const out = [];
    for (let i = 0; i <= n; i++) out.push(lo + (hi - lo) * i / n);
    return out;
  }
  function empty(svg, message) {
    svg.replaceChildren();
    text(svg, W / 2, H / 2, message, "middle");
  }
  function frame(svg, xlo, xhi, ylo, yhi, xlabel, integerX) {
    svg.replaceChildren();
    const sx = scale(xlo, xhi, M.l, W - M.r), sy = scale(ylo, yhi, H - M.b, M.t);
    for (const v of ticks(ylo, yhi, 4)) {
      el("line", { class: "grid", x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v) }, svg);
      text(svg, M.l - 4, sy(v) + 4, fmt(v), "end");
    }
    for (const v of ticks(xlo, xhi, 5, integerX)) text(svg, sx(v), H - M.b + 14, fmt(v), "middle", "xtick");
    el("line", { class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }, svg);
    el("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }, svg);
    text(svg, (M.l + W - M.r) / 2, H - 4, xlabel, "middle");
    return { sx: sx, sy: sy };
  }

  // The score range drawn by default: everything but low outliers (below Q1 - 3 IQR).
  function scoreRange(scores) {
    const s = scores.slice().sort((a, b) => a - b), q = (p) => s[Math.floor(p * (s.length - 1))];
    const iqr = q(0.75) - q(0.25);
    return { lo: iqr > 0 ? Math.max(s[0], q(0.25) - 3 * iqr) : s[0], hi: s[s.length - 1] };
  }

  function okScores(data) {
    const a = data.attempts, ok = new Set(data.ok), out = [];
    for (let i = 0; i < a.id.length; i++) if (a.score[i] !== null && ok.has(a.status[i])) out.push(a.score[i]);
    return out;
  }

  function refLine(svg, f, xhi, value, cls, label) {
    if (value === null || value === undefined) return;
    const y = f.sy(value);
    if (y < M.t || y > H - M.b) return;
    el("line", { class: "ref " + cls, x1: M.l, x2: f.sx(xhi), y1: y, y2: y }, svg);
    text(svg, W - M.r - 2, y - 3, label + " " + fmt(value), "end", "ref-label");
  }

  // Best score so far along x, one step line per island, over a cloud of every scored attempt.
  function bestChart(svg, data, xs, xlabel, integerX) {
    const a = data.attempts, ok = new Set(data.ok), scores = okScores(data);
    if (!scores.length) { empty(svg, "no scored candidates yet"); return; }
    const auto = scoreRange(scores);
    const ylo = view.ymin !== null ? view.ymin : auto.lo, yhi = view.ymax !== null ? view.ymax : auto.hi;
    let xhi = 0;
    for (const x of xs) if (x > xhi) xhi = x;
    const f = frame(svg, 0, xhi, ylo, yhi, xlabel, integerX);
    let cloud = "", below = 0;
    const best = new Map(), paths = new Map(), points = [];
    for (let i = 0; i < a.id.length; i++) {
      const s = a.score[i];
      if (s === null || !ok.has(a.status[i])) continue;
      const px = f.sx(xs[i]), x = px.toFixed(1);
      const clamped = Math.max(ylo, Math.min(yhi, s)), y = f.sy(clamped).toFixed(1);
      if (s < ylo) below++;
      else if (s <= yhi) { cloud += "M" + x + " " + y + "h0"; points.push([px, f.sy(s), a.id[i], s]); }
      const isl = a.island[i], b = best.get(isl);
      if (b === undefined) { best.set(isl, s); paths.set(isl, "M" + x + " " + y); }
      else if (s > b) { best.set(isl, s); paths.set(isl, paths.get(isl) + "H" + x + "V" + y); }
    }
    el("path", { class: "points", d: cloud }, svg);
    for (const [isl, d] of paths) {
      el("path", { class: "best island-" + isl, d: d + "H" + f.sx(xhi).toFixed(1), stroke: COLORS[isl % COLORS.length] }, svg);
    }
    refLine(svg, f, xhi, data.seed_score, "seed", "seed");
    if (data.best) refLine(svg, f, xhi, data.best.score, "overall", "best");
    if (below) text(svg, M.l + 4, H - M.b - 4, below + " below", "start", "below");
    hover(svg, points);
  }

  // Hover shows the nearest point's program and score; a click opens the program.
  function hover(svg, points) {
    const tip = document.getElementById("tip");
    function nearest(ev) {
      const box = svg.getBoundingClientRect(), k = W / box.width;
      const x = (ev.clientX - box.left) * k, y = (ev.clientY - box.top) * k;
      let found = null, dist = 64;
      for (const p of points) {
        const d = (p[0] - x) * (p[0] - x) + (p[1] - y) * (p[1] - y);
        if (d < dist) { dist = d; found = p; }
      }
      return found;
    }
    svg.onmousemove = (ev) => {
      const p = nearest(ev);
      if (!p) { tip.hidden = true; svg.style.cursor = ""; return; }
      tip.hidden = false;
      tip.textContent = "program " + p[2] + ": score " + fmt(p[3]);
      tip.style.left = ev.pageX + 12 + "px";
      tip.style.top = ev.pageY + 12 + "px";
      svg.style.cursor = "pointer";
    };
    svg.onmouseleave = () => { tip.hidden = true; };
    svg.onclick = (ev) => { const p = nearest(ev); if (p) window.location.href = "/program/" + p[2]; };
  }

  function barChart(svg, rows, label, value, valueText, cls, href) {
    if (!rows.length) { empty(svg, "none"); return; }
    svg.replaceChildren();
    const max = Math.max(...rows.map(value)) || 1, left = 150, bh = Math.min(36, (H - 20) / rows.length - 6);
    rows.forEach((r, i) => {
      const y = 10 + i * (bh + 6), w = (W - left - 90) * value(r) / max;
      const parent = href ? el("a", { href: href(r), class: "bar-link" }, svg) : svg;
      text(parent, left - 6, y + bh / 2 + 4, label(r), "end");
      el("rect", { class: "bar " + cls, x: left, y: y, width: Math.max(1, w), height: bh }, parent);
      text(parent, left + w + 6, y + bh / 2 + 4, valueText(r));
    });
  }

  const heat = window.evolveRamp;

  // An island's elites on two of the feature axes; over hidden axes a drawn cell holds the
  // best elite, by the archive's rule (higher score, and of equal scores the newer).
  function project(island, gx, gy) {
    const out = new Map();
    for (const c of island.cells) {
      const key = (c.cell[gx] || 0) + "," + (c.cell[gy] || 0), had = out.get(key);
      if (!had || c.score > had.score || (c.score === had.score && c.id > had.id)) out.set(key, c);
    }
    return out;
  }

  function binLabel(f, i) {
    if (!f || f.lo === null || f.hi === null) return "";
    const w = (f.hi - f.lo) / f.bins;
    return fmt(f.lo + w * i) + "–" + fmt(f.lo + w * (i + 1));
  }

  function grids(box, data) {
    box.replaceChildren();
    if (!data.grids.length) { box.textContent = "No program has been placed in a grid yet."; return; }
    const fx = data.features[view.gx], fy = data.features[view.gy];
    const nx = fx ? fx.bins : 1, ny = fy ? fy.bins : 1;
    let lo = Infinity, hi = -Infinity;
    for (const g of data.grids) for (const c of g.cells) { lo = Math.min(lo, c.score); hi = Math.max(hi, c.score); }
    for (const g of data.grids) {
      const cells = project(g, view.gx, view.gy);
      const fig = document.createElement("figure");
      const cap = document.createElement("figcaption");
      cap.textContent = "island " + g.island + " (" + g.cells.length + " elites)";
      fig.appendChild(cap);
      const size = 220 / Math.max(nx, ny), left = 40, bottom = 250;
      const svg = el("svg", { class: "heatmap", id: "grid-" + g.island, viewBox: "0 0 270 290" }, fig);
      for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) {
        const c = cells.get(x + "," + y), attrs = { x: left + x * size, y: bottom - (y + 1) * size, width: size, height: size };
        if (!c) { attrs.class = "empty"; el("rect", attrs, svg); continue; }
        const link = el("a", { href: "/program/" + c.id }, svg);
        attrs.class = "cell";
        attrs["data-program"] = c.id;
        attrs.fill = heat(hi > lo ? (c.score - lo) / (hi - lo) : 1);
        el("title", {}, el("rect", attrs, link)).textContent =
          (fx ? fx.name + " " + binLabel(fx, x) : "") + (fy ? ", " + fy.name + " " + binLabel(fy, y) : "") +
          ": program " + c.id + ", score " + fmt(c.score);
      }
      if (fx) {
        text(svg, left, bottom + 12, fx.lo === null ? "" : fmt(fx.lo), "start", "axis-tick");
        text(svg, left + nx * size, bottom + 12, fx.hi === null ? "" : fmt(fx.hi), "end", "axis-tick");
        text(svg, left + nx * size / 2, bottom + 26, fx.name + " (" + nx + " bins)", "middle", "axis-name");
      }
      if (fy) {
        text(svg, left - 3, bottom, fy.lo === null ? "" : fmt(fy.lo), "end", "axis-tick");
        text(svg, left - 3, bottom - ny * size + 8, fy.hi === null ? "" : fmt(fy.hi), "end", "axis-tick");
        const t = text(svg, 10, bottom - ny * size / 2, fy.name + " (" + ny + " bins)", "middle", "axis-name");
        t.setAttribute("transform", "rotate(-90 10 " + (bottom - ny * size / 2) + ")");
      }
      box.appendChild(fig);
    }
    box.appendChild(colorLegend(lo, hi));
  }

  function colorLegend(lo, hi) {
    const fig = document.createElement("figure");
    fig.className = "color-legend";
    const svg = el("svg", { id: "grid-legend", viewBox: "0 0 80 260", width: 80, height: 260 }, fig);
    const steps = 20;
    for (let i = 0; i < steps; i++) {
      el("rect", { x: 10, y: 20 + (steps - 1 - i) * 11, width: 16, height: 11, fill: heat(i / (steps - 1)) }, svg);
    }
    text(svg, 30, 28, fmt(hi), "start");
    text(svg, 30, 20 + steps * 11, fmt(lo), "start");
    text(svg, 10, 12, "score", "start");
    return fig;
  }

  function legend(box, data) {
    box.replaceChildren();
    for (const isl of data.islands) {
      const s = document.createElement("span");
      s.style.setProperty("--c", COLORS[isl % COLORS.length]);
      s.textContent = "island " + isl;
      box.appendChild(s);
    }
  }

  function setText(id, value) {
    const node = document.getElementById(id);
    if (node) node.textContent = value;
  }

  function progress(p) {
    setText("done", p.done);
    setText("failed", p.failed);
    setText("run-state", p.state);
    setText("last-activity", new Date(p.last_activity * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC");
    setText("rate", p.rate_per_min === null ? "-" : fmt(p.rate_per_min) + " candidates per minute");
    setText("eta", p.eta_s === null ? "-" : Math.round(p.eta_s / 60) + " min");
    const live = document.getElementById("live");
    if (live) { live.textContent = p.live ? "live" : p.state; live.className = p.live ? "live" : "stalled"; }
  }

  function draw(data) {
    current = data;
    const a = data.attempts;
    bestChart(document.getElementById("chart-candidates"), data, a.id.map((_, i) => i), "candidates", true);
    const span = a.t.length ? a.t[a.t.length - 1] : 0;
    const unit = span < 120 ? [1, "seconds"] : span < 7200 ? [60, "minutes"] : [3600, "hours"];
    bestChart(document.getElementById("chart-time"), data, a.t.map((t) => t / unit[0]), unit[1] + " since start", false);
    barChart(document.getElementById("chart-failures"), data.failures, (r) => r.cause, (r) => r.fraction,
      (r) => (100 * r.fraction).toFixed(1) + "% (" + r.count + ")", "failure",
      (r) => "/run/" + data.run + "/programs?status=" + encodeURIComponent(r.cause));
    barChart(document.getElementById("chart-dollars"), data.models, (r) => r.model, (r) => r.dollars,
      (r) => "$" + r.dollars.toFixed(4) + " / " + r.calls + " calls", "money");
    grids(document.getElementById("grids"), data);
    legend(document.getElementById("legend"), data);
    progress(data.progress);
    document.body.dataset.chartsDrawn = "true";
    document.body.dataset.draws = String(Number(document.body.dataset.draws || 0) + 1);
    window.evolveChartsDrawnAt = performance.now();
  }

  function axisChoices(data) {
    const sx = document.getElementById("grid-x"), sy = document.getElementById("grid-y");
    if (!sx || !sy) return;
    data.features.forEach((f, i) => {
      sx.add(new Option(f.name, i, false, i === view.gx));
      sy.add(new Option(f.name, i, false, i === view.gy));
    });
    sx.onchange = () => { view.gx = Number(sx.value); grids(document.getElementById("grids"), current); };
    sy.onchange = () => { view.gy = Number(sy.value); grids(document.getElementById("grids"), current); };
  }

  function rangeInputs() {
    const lo = document.getElementById("y-min"), hi = document.getElementById("y-max");
    const read = (input) => (input.value === "" ? null : Number(input.value));
    const apply = () => { view.ymin = read(lo); view.ymax = read(hi); draw(current); };
    lo.onchange = apply;
    hi.onchange = apply;
    document.getElementById("y-reset").onclick = () => { lo.value = ""; hi.value = ""; apply(); };
  }

  // A run in progress is polled and redrawn in place; a finished one is never fetched again.
  function poll() {
    if (current.progress.state !== "running" && current.progress.state !== "stalled") return;
    const wait = current.progress.live ? POLL_MS : STALLED_POLL_MS;
    window.setTimeout(() => {
      fetch("/run/" + current.run + "/data.json")
        .then((r) => r.json())
        .then((data) => { draw(data); poll(); })
        .catch(() => poll());
    }, wait);
  }

  const initial = JSON.parse(document.getElementById("chart-data").textContent);
  view.gy = Math.min(1, Math.max(0, initial.features.length - 1));
  axisChoices(initial);
  rangeInputs();
  draw(initial);
  poll();
})();
