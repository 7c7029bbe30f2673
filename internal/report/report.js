// report.js draws report.html from the JSON in #report-data: SVG line charts, canvas
// heatmaps and text. It records every error (and console.error) in #report-errors and,
// when done, writes what it drew into #report-status (data-state "ok" or "error"), which
// scripts/report/check.sh reads in headless Chromium.
'use strict';
(function () {
  const status = document.getElementById('report-status');
  const errors = [];
  function fail(msg) {
    errors.push(String(msg));
    const el = document.getElementById('report-errors');
    el.hidden = false;
    el.textContent = errors.join('\n');
    status.dataset.state = 'error';
  }
  window.addEventListener('error', (e) => fail('error: ' + e.message + ' (' + e.filename + ':' + e.lineno + ')'));
  window.addEventListener('unhandledrejection', (e) => fail('unhandled rejection: ' + e.reason));
  const consoleError = console.error;
  console.error = function (...args) { fail('console.error: ' + args.join(' ')); consoleError.apply(console, args); };

  const SVG = 'http://www.w3.org/2000/svg';
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const tooltip = document.getElementById('tooltip');

  function el(name, attrs, parent) {
    const e = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (parent) parent.appendChild(e);
    return e;
  }
  function showTip(ev, text) {
    tooltip.textContent = text;
    tooltip.hidden = false;
    tooltip.style.left = (ev.clientX + 14) + 'px';
    tooltip.style.top = (ev.clientY + 14) + 'px';
  }
  function hideTip() { tooltip.hidden = true; }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
    return a >= 100 ? v.toFixed(0) : v.toPrecision(4);
  }
  // tickLabel drops the trailing zeros fmt keeps: 2, 0.005, 50.
  function tickLabel(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(1);
    return String(Number(v.toPrecision(6)));
  }

  // ticks returns about n round values covering [lo, hi] (linear) or the powers of ten
  // and their 2 and 5 multiples inside it (log).
  function ticks(lo, hi, n, log) {
    if (log) {
      const out = [];
      for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
        for (const m of [1, 2, 5]) {
          const v = m * Math.pow(10, e);
          if (v >= lo && v <= hi) out.push(v);
        }
      }
      return out.length >= 2 ? out : [lo, hi];
    }
    const span = hi - lo || Math.abs(hi) || 1;
    const raw = span / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Math.round(v / step) * step);
    return out;
  }

  // extent is [min, max] of xs (without spreading a long array into arguments).
  function extent(xs) {
    return xs.reduce(([lo, hi], x) => [Math.min(lo, x), Math.max(hi, x)], [Infinity, -Infinity]);
  }

  // lineChart draws series [{name, color, width, points: [[x, y]], dots}] into the div
  // with id, and returns the number of series drawn. A log y axis leaves out y ≤ 0.
  function lineChart(id, series, opt) {
    const box = document.getElementById(id);
    box.textContent = '';
    const W = opt.width || 900, H = opt.height || 320, m = { l: 60, r: 16, t: 12, b: 36 };
    const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opt.label }, box);
    series = series.map((s) => Object.assign({}, s, { points: s.points.filter((p) => p[1] !== null && isFinite(p[1]) && (!opt.log || p[1] > 0)) }))
      .filter((s) => s.points.length > 0);
    if (series.length === 0) {
      el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, svg).textContent = 'no data yet';
      return 0;
    }
    const xs = series.flatMap((s) => s.points.map((p) => p[0])), ys = series.flatMap((s) => s.points.map((p) => p[1]));
    let [x0, x1] = extent(xs), [y0, y1] = extent(ys);
    if (x1 === x0) x1 = x0 + 1;
    if (opt.log) { y0 /= 1.1; y1 *= 1.1; } else { const pad = (y1 - y0) * 0.05 || Math.abs(y1) * 0.05 || 1; y0 -= pad; y1 += pad; if (opt.zero && y0 > 0) y0 = 0; }
    const f = opt.log ? Math.log10 : (v) => v;
    const sx = (x) => m.l + (x - x0) / (x1 - x0) * (W - m.l - m.r);
    const sy = (y) => H - m.b - (f(y) - f(y0)) / (f(y1) - f(y0)) * (H - m.t - m.b);
    const grid = el('g', { class: 'grid' }, svg), axis = el('g', { class: 'axis' }, svg);
    for (const t of ticks(y0, y1, 6, opt.log)) {
      el('line', { x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t) }, grid);
      el('text', { x: m.l - 6, y: sy(t) + 4, 'text-anchor': 'end' }, axis).textContent = tickLabel(t);
    }
    for (const t of ticks(x0, x1, 8, false)) {
      el('line', { x1: sx(t), x2: sx(t), y1: m.t, y2: H - m.b }, grid);
      el('text', { x: sx(t), y: H - m.b + 16, 'text-anchor': 'middle' }, axis).textContent = tickLabel(t);
    }
    el('path', { d: `M${m.l},${m.t}V${H - m.b}H${W - m.r}`, fill: 'none' }, axis);
    el('text', { x: (m.l + W - m.r) / 2, y: H - 4, 'text-anchor': 'middle' }, axis).textContent = opt.xlabel || 'step';
    for (const s of series) {
      const d = s.points.map((p, i) => (i ? 'L' : 'M') + sx(p[0]).toFixed(1) + ',' + sy(p[1]).toFixed(1)).join('');
      el('path', { d, fill: 'none', stroke: s.color, 'stroke-width': s.width || 2, 'stroke-opacity': s.opacity || 1, class: 'series' }, svg);
      if (s.dots) for (const p of s.points) el('circle', { cx: sx(p[0]), cy: sy(p[1]), r: 3.5, fill: s.color }, svg);
    }
    const cursor = el('line', { y1: m.t, y2: H - m.b, stroke: '#888', 'stroke-dasharray': '3 3', visibility: 'hidden' }, svg);
    svg.addEventListener('mousemove', (ev) => {
      const r = svg.getBoundingClientRect();
      const x = x0 + ((ev.clientX - r.left) * W / r.width - m.l) / (W - m.l - m.r) * (x1 - x0);
      const lines = [];
      let at = null;
      for (const s of series) {
        let best = s.points[0];
        for (const p of s.points) if (Math.abs(p[0] - x) < Math.abs(best[0] - x)) best = p;
        if (at === null || Math.abs(best[0] - x) < Math.abs(at - x)) at = best[0];
        lines.push(`${s.name}: ${fmt(best[1])} (step ${best[0]})`);
      }
      cursor.setAttribute('x1', sx(at)); cursor.setAttribute('x2', sx(at)); cursor.setAttribute('visibility', 'visible');
      showTip(ev, lines.join('\n'));
    });
    svg.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); hideTip(); });
    if (opt.legend) {
      const lg = document.getElementById(opt.legend);
      lg.innerHTML = '';
      for (const s of series) {
        const span = document.createElement('span');
        span.innerHTML = `<i style="background:${s.color};opacity:${s.opacity || 1}"></i>`;
        span.appendChild(document.createTextNode(s.name));
        lg.appendChild(span);
      }
    }
    return series.length;
  }

  const drawn = { charts: 0, heatmaps: 0 };
  function drawLoss() {
    const raw = data.step_losses.map((s) => [s.step, s.loss]);
    const ev = (key) => data.evals.filter((e) => e[key] !== null).map((e) => [e.step, e[key]]);
    const trainEval = ev('train_eval_loss');
    const series = [
      { name: 'train, every step', color: '#1f77b4', width: 1, opacity: 0.35, points: raw },
      { name: `train, smoothed (EMA ${data.smoothing.toFixed(2)})`, color: '#1f77b4', width: 2.5, points: data.step_losses.map((s, i) => [s.step, data.smoothed[i]]) },
      { name: 'validation', color: '#d62728', width: 2, dots: true, points: ev('val_loss') },
    ];
    if (trainEval.length) series.push({ name: 'train, estimated at evaluation', color: '#2ca02c', width: 2, dots: true, points: trainEval });
    return lineChart('loss-chart', series, { log: document.getElementById('logscale').checked, label: 'loss', legend: 'loss-legend' });
  }

  function drawCharts() {
    let n = drawLoss();
    n += lineChart('lr-chart', [{ name: 'learning rate', color: '#9467bd', points: data.step_losses.map((s) => [s.step, s.lr]) }],
      { width: 480, height: 240, label: 'learning rate', zero: true });
    n += lineChart('tps-chart', [{ name: 'tokens/s', color: '#ff7f0e', dots: true, points: data.evals.filter((e) => e.tokens_per_s > 0).map((e) => [e.step, e.tokens_per_s]) }],
      { width: 480, height: 240, label: 'tokens per second', zero: true });
    return n;
  }

  // heatmap draws one head's weights w[query][key] on a canvas with the tokens on both axes.
  function heatmap(w, tokens, caption) {
    const fig = document.createElement('figure');
    const cv = document.createElement('canvas');
    const T = w.length, cell = Math.max(8, Math.min(20, Math.floor(420 / T)));
    const ctx0 = cv.getContext('2d');
    ctx0.font = '11px sans-serif';
    const lab = Math.ceil(extent(tokens.map((t) => ctx0.measureText(t).width))[1]) + 8;
    const left = lab, top = lab;
    const dpr = window.devicePixelRatio || 1;
    const Wpx = left + T * cell + 4, Hpx = top + T * cell + 4;
    cv.width = Wpx * dpr; cv.height = Hpx * dpr; cv.style.width = Wpx + 'px'; cv.style.height = Hpx + 'px';
    const ctx = cv.getContext('2d');
    ctx.scale(dpr, dpr);
    ctx.font = '11px sans-serif';
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, Wpx, Hpx);
    for (let i = 0; i < T; i++) {
      for (let j = 0; j < T; j++) {
        const v = Math.max(0, Math.min(1, w[i][j]));
        ctx.fillStyle = `rgb(${Math.round(255 - 247 * v)},${Math.round(255 - 207 * v)},${Math.round(255 - 148 * v)})`;
        ctx.fillRect(left + j * cell, top + i * cell, cell, cell);
      }
    }
    ctx.strokeStyle = '#ccc'; ctx.strokeRect(left + 0.5, top + 0.5, T * cell - 1, T * cell - 1);
    ctx.fillStyle = '#333';
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    tokens.forEach((t, i) => ctx.fillText(t, left - 4, top + (i + 0.5) * cell));
    tokens.forEach((t, j) => {
      ctx.save();
      ctx.translate(left + (j + 0.5) * cell, top - 4);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'left';
      ctx.fillText(t, 0, 0);
      ctx.restore();
    });
    Object.assign(cv.dataset, { drawn: 'true', left, top, cell }); // where the cells are, for scripts/report/check.js
    cv.addEventListener('mousemove', (ev) => {
      const r = cv.getBoundingClientRect();
      const j = Math.floor((ev.clientX - r.left - left) / cell), i = Math.floor((ev.clientY - r.top - top) / cell);
      if (i < 0 || j < 0 || i >= T || j >= T) { hideTip(); return; }
      showTip(ev, `${caption}\nquery ${i} “${tokens[i]}” → key ${j} “${tokens[j]}”: ${w[i][j].toFixed(4)}`);
    });
    cv.addEventListener('mouseleave', hideTip);
    const fc = document.createElement('figcaption');
    fc.textContent = caption;
    fig.appendChild(cv);
    fig.appendChild(fc);
    return fig;
  }

  function drawAttention() {
    const box = document.getElementById('heatmaps'), slider = document.getElementById('snapshot');
    const label = document.getElementById('snapshot-label');
    const snaps = data.snapshots || [];
    if (snaps.length === 0) { box.textContent = 'no snapshot yet (one is taken at each evaluation)'; slider.disabled = true; return 0; }
    slider.max = snaps.length - 1;
    const tokens = data.tokens.map((t) => (t === ' ' ? '␣' : t === '\n' ? '\\n' : t));
    function show(k) {
      const s = snaps[k];
      label.textContent = `after step ${s.step} (evaluation ${k + 1} of ${snaps.length})`;
      box.textContent = '';
      let n = 0;
      s.weights.forEach((layer, l) => {
        if (!layer) return;
        const row = document.createElement('div');
        row.className = 'layer';
        layer.forEach((w, h) => { row.appendChild(heatmap(w, tokens, `layer ${l}, head ${h}, step ${s.step}`)); n++; });
        box.appendChild(row);
      });
      return n;
    }
    slider.value = snaps.length - 1;
    slider.addEventListener('input', () => show(Number(slider.value)));
    return show(snaps.length - 1);
  }

  function drawText() {
    const last = data.evals[data.evals.length - 1];
    const at = last ? `step ${last.step} of ${data.steps}` : `step 0 of ${data.steps}`;
    let p = data.done ? `done: ${at}` : `training: ${at}; this page is rewritten at every evaluation, reload it to see more`;
    if (data.status) p += ` (${data.status})`;
    if (last && last.val_loss !== null) p += `; validation loss ${fmt(last.val_loss)}` + (last.val_acc !== null ? `, accuracy ${fmt(last.val_acc)}` : '');
    document.getElementById('progress').textContent = p;
    document.getElementById('samples').textContent = data.samples || (data.done ? '(none)' : '(after training)');
    document.getElementById('summary').textContent = data.summary ? JSON.stringify(data.summary, null, 2) : '(after training)';
    document.getElementById('config').textContent = JSON.stringify(data.config, null, 2);
  }

  try {
    // Start on a log axis when the losses span more than a factor 10, as loss.png does.
    const losses = data.step_losses.map((s) => s.loss).concat(data.evals.map((e) => e.val_loss)).filter((v) => v > 0);
    const [lo, hi] = extent(losses);
    if (losses.length && hi > 10 * lo) document.getElementById('logscale').checked = true;
    drawText();
    drawn.charts = drawCharts();
    drawn.heatmaps = drawAttention();
    document.getElementById('logscale').addEventListener('change', drawLoss);
  } catch (e) {
    fail('exception: ' + (e && e.stack ? e.stack : e));
  }
  status.dataset.charts = drawn.charts;
  status.dataset.heatmaps = drawn.heatmaps;
  if (errors.length === 0) status.dataset.state = 'ok';
  status.textContent = JSON.stringify({ state: status.dataset.state, charts: drawn.charts, heatmaps: drawn.heatmaps, errors });
})();
