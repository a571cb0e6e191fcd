// Draws the run dashboard from the JSON the server embeds in #chart-data.
// Plain SVG, no library: the UI must work offline and a 10,000-candidate run must draw fast,
// so every series is one <path> element rather than one element per point.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 300, M = { l: 56, r: 12, t: 10, b: 34 };
  const COLORS = ["#0b63c5", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#57606a"];

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, s, anchor) {
    const t = el("text", { x: x, y: y, "text-anchor": anchor || "start" }, parent);
    t.textContent = s;
    return t;
  }
  function fmt(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
    return String(Math.round(v * 1000) / 1000);
  }
  function scale(lo, hi, a, b) {
    if (hi === lo) { lo -= 1; hi += 1; }
    const k = (b - a) / (hi - lo);
    return (v) => a + (v - lo) * k;
  }
  function ticks(lo, hi, n) {
    if (hi === lo) return [lo];
    const out = [];
    for (let i = 0; i <= n; i++) out.push(lo + (hi - lo) * i / n);
    return out;
  }
  function empty(svg, message) {
    svg.replaceChildren();
    text(svg, W / 2, H / 2, message, "middle");
  }
  function frame(svg, xlo, xhi, ylo, yhi, xlabel) {
    svg.replaceChildren();
    const sx = scale(xlo, xhi, M.l, W - M.r), sy = scale(ylo, yhi, H - M.b, M.t);
    for (const v of ticks(ylo, yhi, 4)) {
      el("line", { class: "grid", x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v) }, svg);
      text(svg, M.l - 4, sy(v) + 4, fmt(v), "end");
    }
    for (const v of ticks(xlo, xhi, 5)) text(svg, sx(v), H - M.b + 14, fmt(v), "middle");
    el("line", { class: "axis", x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }, svg);
    el("line", { class: "axis", x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }, svg);
    text(svg, (M.l + W - M.r) / 2, H - 4, xlabel, "middle");
    return { sx: sx, sy: sy };
  }

  // Best score so far along x, one step line per island, over a cloud of every scored attempt.
  function bestChart(svg, data, xs, xlabel) {
    const a = data.attempts, ok = new Set(data.ok);
    let ylo = Infinity, yhi = -Infinity, xhi = 0;
    for (let i = 0; i < a.id.length; i++) {
      const s = a.score[i];
      if (s !== null && ok.has(a.status[i])) { if (s < ylo) ylo = s; if (s > yhi) yhi = s; }
      if (xs[i] > xhi) xhi = xs[i];
    }
    if (ylo === Infinity) { empty(svg, "no scored candidates yet"); return; }
    const f = frame(svg, 0, xhi, ylo, yhi, xlabel);
    let cloud = "";
    const best = new Map(), paths = new Map();
    for (let i = 0; i < a.id.length; i++) {
      const s = a.score[i];
      if (s === null || !ok.has(a.status[i])) continue;
      const x = f.sx(xs[i]).toFixed(1), y = f.sy(s).toFixed(1);
      cloud += "M" + x + " " + y + "h0";
      const isl = a.island[i], b = best.get(isl);
      if (b === undefined) { best.set(isl, s); paths.set(isl, "M" + x + " " + y); }
      else if (s > b) { best.set(isl, s); paths.set(isl, paths.get(isl) + "H" + x + "V" + y); }
    }
    el("path", { class: "points", d: cloud }, svg);
    for (const [isl, d] of paths) {
      el("path", { class: "best island-" + isl, d: d + "H" + f.sx(xhi).toFixed(1), stroke: COLORS[isl % COLORS.length] }, svg);
    }
  }

  function barChart(svg, rows, label, value, valueText, cls) {
    if (!rows.length) { empty(svg, "none"); return; }
    svg.replaceChildren();
    const max = Math.max(...rows.map(value)) || 1, left = 150, bh = Math.min(36, (H - 20) / rows.length - 6);
    rows.forEach((r, i) => {
      const y = 10 + i * (bh + 6), w = (W - left - 90) * value(r) / max;
      text(svg, left - 6, y + bh / 2 + 4, label(r), "end");
      el("rect", { class: "bar " + cls, x: left, y: y, width: Math.max(1, w), height: bh }, svg);
      text(svg, left + w + 6, y + bh / 2 + 4, valueText(r));
    });
  }

  // Viridis-like ramp from low (dark blue) to high (yellow).
  function heat(t) {
    const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
    const p = Math.max(0, Math.min(1, t)) * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(p)), f = p - i;
    const c = stops[i].map((v, k) => Math.round(v + (stops[i + 1][k] - v) * f));
    return "rgb(" + c.join(",") + ")";
  }

  function grids(box, data) {
    box.replaceChildren();
    let lo = Infinity, hi = -Infinity;
    for (const g of data.grids) for (const c of g.cells) { lo = Math.min(lo, c[2]); hi = Math.max(hi, c[2]); }
    for (const g of data.grids) {
      const fig = document.createElement("figure");
      const cap = document.createElement("figcaption");
      cap.textContent = "island " + g.island + " (" + g.cells.length + " elites)" + (g.axes.length ? ": " + g.axes.join(" x ") : "");
      fig.appendChild(cap);
      const nx = g.shape[0], ny = g.shape[1], size = 240 / Math.max(nx, ny);
      const svg = el("svg", { class: "heatmap", id: "grid-" + g.island, viewBox: "0 0 260 260" }, fig);
      const filled = new Map(g.cells.map((c) => [c[0] + "," + c[1], c]));
      for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) {
        const c = filled.get(x + "," + y), attrs = { x: 10 + x * size, y: 250 - (y + 1) * size, width: size, height: size };
        if (!c) { attrs.class = "empty"; el("rect", attrs, svg); continue; }
        const link = el("a", { href: "/program/" + c[3] }, svg);
        attrs.class = "cell";
        attrs.fill = heat(hi > lo ? (c[2] - lo) / (hi - lo) : 1);
        el("title", {}, el("rect", attrs, link)).textContent = "cell (" + x + ", " + y + "): program " + c[3] + ", score " + fmt(c[2]);
      }
      box.appendChild(fig);
    }
    if (!data.grids.length) box.textContent = "No program has been placed in a grid yet.";
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

  function draw(data) {
    const a = data.attempts;
    bestChart(document.getElementById("chart-candidates"), data, a.id.map((_, i) => i + 1), "candidates");
    bestChart(document.getElementById("chart-time"), data, a.t.map((t) => t / 60), "minutes since start");
    barChart(document.getElementById("chart-failures"), data.failures, (r) => r.cause, (r) => r.fraction,
      (r) => (100 * r.fraction).toFixed(1) + "% (" + r.count + ")", "failure");
    barChart(document.getElementById("chart-dollars"), data.models, (r) => r.model, (r) => r.dollars,
      (r) => "$" + r.dollars.toFixed(4) + " / " + r.calls + " calls", "money");
    grids(document.getElementById("grids"), data);
    legend(document.getElementById("legend"), data);
    document.body.dataset.chartsDrawn = "true";
    window.evolveChartsDrawnAt = performance.now();
  }

  draw(JSON.parse(document.getElementById("chart-data").textContent));
})();
