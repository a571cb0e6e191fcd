// Draws a run's population tree on a canvas from the layout the server embeds in #tree-data.
// A canvas, not SVG: 10,000 programs are 20,000 shapes, which a canvas redraws in milliseconds
// on every zoom and pan. No library: the UI works offline.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("tree-data").textContent);
  const canvas = document.getElementById("tree"), ctx = canvas.getContext("2d");
  const tip = document.getElementById("tip"), n = data.id.length;
  const PAD = 24, BUCKETS = 24, migrant = data.origins.indexOf("migrant");
  const gens = data.generation.reduce((m, g) => Math.max(m, g), 0);
  // The whole tree fits the canvas at zoom 1: generations share its height, each
  // generation its width; zooming in spreads a crowded one apart.
  const worldW = canvas.width - 2 * PAD, ROW = Math.min(36, (canvas.height - 2 * PAD) / Math.max(1, gens));
  const wx = new Float64Array(n), wy = new Float64Array(n);
  for (let i = 0; i < n; i++) { wx[i] = PAD + data.x[i] * worldW; wy[i] = PAD + data.generation[i] * ROW; }
  const onPath = new Uint8Array(n);
  for (const i of data.best_path) onPath[i] = 1;

  // Colour by score over the range that leaves out low outliers, as the dashboard does.
  const scores = [];
  for (let i = 0; i < n; i++) if (data.score[i] !== null) scores.push(data.score[i]);
  scores.sort((a, b) => a - b);
  const q = (p) => scores[Math.floor(p * (scores.length - 1))];
  const lo = scores.length ? Math.max(scores[0], q(0.25) - 3 * (q(0.75) - q(0.25))) : 0, hi = scores.length ? scores[scores.length - 1] : 1;
  const bucket = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    const s = data.score[i];
    bucket[i] = s === null ? -1 : Math.round(Math.max(0, Math.min(1, hi > lo ? (s - lo) / (hi - lo) : 1)) * (BUCKETS - 1));
  }
  const palette = [];
  for (let b = 0; b < BUCKETS; b++) palette.push(window.evolveRamp(b / (BUCKETS - 1)));

  let k = 1, tx = 0, ty = 0;
  function fit() {
    k = 1;
    tx = 0;
    ty = 0;
  }
  const sx = (i) => wx[i] * k + tx, sy = (i) => wy[i] * k + ty;

  function draw() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const r = Math.max(1.5, Math.min(6, 3 * Math.sqrt(k)));
    ctx.lineWidth = 0.6;
    ctx.strokeStyle = "#c9d1d9";
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const p = data.parent[i];
      if (p < 0 || data.origin[i] === migrant) continue;
      ctx.moveTo(sx(p), sy(p));
      ctx.lineTo(sx(i), sy(i));
    }
    ctx.stroke();
    ctx.setLineDash([3, 3]);
    ctx.strokeStyle = "#8250df";
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      const p = data.parent[i];
      if (p >= 0 && data.origin[i] === migrant) { ctx.moveTo(sx(p), sy(p)); ctx.lineTo(sx(i), sy(i)); }
    }
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#d4a72c";
    ctx.beginPath();
    data.best_path.forEach((i, j) => (j ? ctx.lineTo(sx(i), sy(i)) : ctx.moveTo(sx(i), sy(i))));
    ctx.stroke();
    for (let b = 0; b < BUCKETS; b++) {
      ctx.fillStyle = palette[b];
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        if (bucket[i] !== b || data.origin[i] === migrant) continue;
        ctx.moveTo(sx(i) + r, sy(i));
        ctx.arc(sx(i), sy(i), r, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.lineWidth = 1;
    ctx.strokeStyle = "#afb8c1";
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (bucket[i] !== -1) continue;
      const x = sx(i), y = sy(i);
      ctx.moveTo(x - r, y - r); ctx.lineTo(x + r, y + r); ctx.moveTo(x + r, y - r); ctx.lineTo(x - r, y + r);
    }
    ctx.stroke();
    ctx.strokeStyle = "#8250df";
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    for (let i = 0; i < n; i++) {
      if (data.origin[i] !== migrant) continue;
      const x = sx(i), y = sy(i), d = r + 1;
      ctx.moveTo(x, y - d); ctx.lineTo(x + d, y); ctx.lineTo(x, y + d); ctx.lineTo(x - d, y); ctx.closePath();
    }
    ctx.stroke();
    ctx.strokeStyle = "#9a6700";
    ctx.lineWidth = 2;
    for (const i of data.best_path.slice(-1)) { ctx.beginPath(); ctx.arc(sx(i), sy(i), r + 3, 0, 2 * Math.PI); ctx.stroke(); }
    document.getElementById("tree-info").textContent =
      n + " programs, " + (gens + 1) + " generations, zoom " + k.toFixed(2) + "x";
    document.body.dataset.treeDrawn = "true";
    window.evolveTreeDrawnAt = performance.now();
  }

  function at(ev) {
    const box = canvas.getBoundingClientRect(), s = canvas.width / box.width;
    const x = (ev.clientX - box.left) * s, y = (ev.clientY - box.top) * s;
    let found = -1, best = Math.max(36, 9 * k * k);
    for (let i = 0; i < n; i++) {
      const d = (sx(i) - x) ** 2 + (sy(i) - y) ** 2;
      if (d < best) { best = d; found = i; }
    }
    return found;
  }

  function describe(i) {
    const s = data.score[i];
    return "program " + data.id[i] + " (generation " + data.generation[i] + ", island " + data.island[i] + "): " +
      (data.origin[i] === migrant ? "migrant, " : "") + data.statuses[data.status[i]] + (s === null ? "" : ", score " + s);
  }

  function zoom(factor, cx, cy) {
    tx = cx - (cx - tx) * factor;
    ty = cy - (cy - ty) * factor;
    k *= factor;
    draw();
  }

  let drag = null;
  canvas.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const box = canvas.getBoundingClientRect(), s = canvas.width / box.width;
    zoom(ev.deltaY < 0 ? 1.25 : 0.8, (ev.clientX - box.left) * s, (ev.clientY - box.top) * s);
  }, { passive: false });
  canvas.addEventListener("mousedown", (ev) => { drag = { x: ev.clientX, y: ev.clientY, tx: tx, ty: ty, moved: false }; });
  window.addEventListener("mouseup", () => { setTimeout(() => { drag = null; }, 0); });
  canvas.addEventListener("mousemove", (ev) => {
    if (drag && (ev.buttons & 1)) {
      const s = canvas.width / canvas.getBoundingClientRect().width;
      if (Math.abs(ev.clientX - drag.x) + Math.abs(ev.clientY - drag.y) > 4) drag.moved = true;
      tx = drag.tx + (ev.clientX - drag.x) * s;
      ty = drag.ty + (ev.clientY - drag.y) * s;
      draw();
      return;
    }
    const i = at(ev);
    tip.hidden = i < 0;
    canvas.style.cursor = i < 0 ? "grab" : "pointer";
    if (i >= 0) { tip.textContent = describe(i); tip.style.left = ev.pageX + 12 + "px"; tip.style.top = ev.pageY + 12 + "px"; }
  });
  canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
  canvas.addEventListener("click", (ev) => {
    if (drag && drag.moved) return;
    const i = at(ev);
    if (i >= 0) window.location.href = "/program/" + data.id[i];
  });
  const centre = () => [canvas.width / 2, canvas.height / 2];
  document.getElementById("zoom-in").onclick = () => zoom(1.5, ...centre());
  document.getElementById("zoom-out").onclick = () => zoom(1 / 1.5, ...centre());
  document.getElementById("zoom-reset").onclick = () => { fit(); draw(); };

  // Where a program is drawn, in page pixels: lets a test (or a user's script) find a node.
  window.evolveTree = {
    pagePoint(programId) {
      const i = data.id.indexOf(programId), box = canvas.getBoundingClientRect(), s = box.width / canvas.width;
      return i < 0 ? null : { x: box.left + sx(i) * s, y: box.top + sy(i) * s };
    },
  };
  fit();
  draw();
})();
