// Several runs' best score so far on one chart, against candidates and against dollars.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg", W = 640, H = 300, M = { l: 56, r: 12, t: 10, b: 34 };
  const COLORS = ["#0b63c5", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#1b7c83", "#57606a"];
  const data = JSON.parse(document.getElementById("compare-data").textContent);

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const k in attrs) node.setAttribute(k, attrs[k]);
    parent.appendChild(node);
    return node;
  }
  function label(parent, x, y, s, anchor) {
    el("text", { x: x, y: y, "text-anchor": anchor }, parent).textContent = s;
  }
  function fmt(v) {
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(Math.round(v * 1000) / 1000);
  }

  function chart(svg, column, xlabel) {
    svg.replaceChildren();
    let xhi = 0, ylo = Infinity, yhi = -Infinity;
    for (const run of data.runs) for (const p of run.points) {
      if (p[1] === null) continue;
      xhi = Math.max(xhi, p[column]); ylo = Math.min(ylo, p[1]); yhi = Math.max(yhi, p[1]);
    }
    if (ylo === Infinity) { label(svg, W / 2, H / 2, "no scored programs", "middle"); return; }
    if (yhi === ylo) { ylo -= 1; yhi += 1; }
    if (xhi === 0) xhi = 1;
    const sx = (v) => M.l + v / xhi * (W - M.l - M.r), sy = (v) => H - M.b - (v - ylo) / (yhi - ylo) * (H - M.t - M.b);
    for (let i = 0; i <= 4; i++) {
      const v = ylo + (yhi - ylo) * i / 4;
      el("line", { class: "grid", x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v) }, svg);
      label(svg, M.l - 4, sy(v) + 4, fmt(v), "end");
    }
    for (let i = 0; i <= 5; i++) {
      const v = xhi * i / 5;
      label(svg, sx(v), H - M.b + 14, column === 0 ? String(Math.round(v)) : "$" + fmt(v), "middle");
    }
    label(svg, (M.l + W - M.r) / 2, H - 4, xlabel, "middle");
    data.runs.forEach((run, r) => {
      let d = "";
      for (const p of run.points) {
        if (p[1] === null) continue;
        d += (d ? "H" + sx(p[column]).toFixed(1) + "V" : "M" + sx(p[column]).toFixed(1) + " ") + sy(p[1]).toFixed(1);
      }
      if (d) el("path", { class: "best run-" + run.id, d: d, stroke: COLORS[r % COLORS.length] }, svg);
    });
  }

  const legend = document.getElementById("legend");
  data.runs.forEach((run, r) => {
    const s = document.createElement("span");
    s.style.setProperty("--c", COLORS[r % COLORS.length]);
    s.textContent = run.id + " " + run.name + " (" + run.state + ")";
    legend.appendChild(s);
  });
  chart(document.getElementById("compare-candidates"), 0, "candidates");
  chart(document.getElementById("compare-dollars"), 2, "dollars");
  document.getElementById("choose").addEventListener("submit", () => {
    const ids = [...document.querySelectorAll(".run-choice:checked")].map((c) => c.value);
    document.getElementById("runs-field").value = ids.join(",");
  });
  document.body.dataset.compareDrawn = "true";
})();
