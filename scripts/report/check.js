// check.js is appended to a copy of report.html by check.sh and runs after the page's
// own script, in headless Chromium: it queries the DOM the page built (independently of
// report.js's own status), works the slider and the log toggle, and writes one line,
// "OK …" or "FAIL …", into <pre id="check-result">.
(function () {
  const problems = [];
  const need = (ok, msg) => { if (!ok) problems.push(msg); };
  const $ = (sel) => document.querySelector(sel), $$ = (sel) => Array.from(document.querySelectorAll(sel));
  try {
    const data = JSON.parse($('#report-data').textContent);
    const st = $('#report-status');
    need(st.dataset.state === 'ok', 'report.js status is ' + st.dataset.state);
    need($('#report-errors').textContent === '', 'page errors: ' + $('#report-errors').textContent);
    need(data.done, 'the report is not marked done');

    // Charts: the loss chart has the per-step, smoothed and validation curves, each a
    // path through all its points; the learning-rate and tokens/s charts have theirs.
    const loss = $$('#loss-chart svg path.series');
    need(loss.length >= 3, `${loss.length} loss curves; want ≥ 3`);
    const segs = (p) => (p.getAttribute('d').match(/L/g) || []).length + 1;
    if (loss.length >= 3) {
      need(segs(loss[0]) === data.step_losses.length, `per-step curve has ${segs(loss[0])} points; ${data.step_losses.length} steps`);
      const vals = data.evals.filter((e) => e.val_loss !== null).length;
      need(segs(loss[2]) === vals, `validation curve has ${segs(loss[2])} points; ${vals} evaluations`);
    }
    need($$('#loss-chart svg circle').length >= data.evals.length, 'validation markers missing');
    need($$('#lr-chart svg path.series').length === 1, 'no learning-rate curve');
    need($$('#tps-chart svg path.series').length === 1, 'no tokens/s curve');
    const ticks = () => $$('#loss-chart svg .axis text').map((t) => t.textContent).join(' ');
    const before = ticks();
    $('#logscale').click();
    need(ticks() !== before && $$('#loss-chart svg path.series').length === loss.length, 'the log/linear toggle changed nothing');
    $('#logscale').click();

    // Heatmaps: one canvas per head of every attention layer, painted: the pixel at the
    // centre of every cell is darker where the weight is larger (checked on the pairs of
    // cells whose weights differ by more than 0.2), and the canvas is not blank.
    const last = data.snapshots[data.snapshots.length - 1];
    const heads = last.weights.filter((l) => l).flat();
    const cvs = $$('#heatmaps canvas');
    need(cvs.length === heads.length, `${cvs.length} heatmaps; want ${heads.length} (layers × heads)`);
    let checked = 0;
    cvs.forEach((cv, k) => {
      const w = heads[k], T = w.length, dpr = cv.width / parseFloat(cv.style.width);
      const { left, top, cell } = Object.fromEntries(['left', 'top', 'cell'].map((a) => [a, Number(cv.dataset[a])]));
      const px = cv.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, cv.width, cv.height);
      const lum = (i, j) => {
        const x = Math.floor((left + (j + 0.5) * cell) * dpr), y = Math.floor((top + (i + 0.5) * cell) * dpr);
        const o = 4 * (y * px.width + x);
        return px.data[o] + px.data[o + 1] + px.data[o + 2];
      };
      let bad = 0, pairs = 0;
      for (let i = 0; i < T; i++) {
        let lo = 0, hi = 0;
        for (let j = 0; j < T; j++) { if (w[i][j] < w[i][lo]) lo = j; if (w[i][j] > w[i][hi]) hi = j; }
        if (w[i][hi] - w[i][lo] > 0.2) { pairs++; if (!(lum(i, hi) < lum(i, lo) - 40)) bad++; }
      }
      need(pairs > 0 && bad === 0, `heatmap ${k}: ${bad} of ${pairs} rows where the larger weight is not the darker cell`);
      checked += pairs;
    });
    need($$('#heatmaps figcaption').length === heads.length, 'heatmap captions missing');
    need(data.tokens.length === last.weights.find((l) => l)[0].length, 'tokens do not match the weights');

    // The slider moves between snapshots and redraws.
    const slider = $('#snapshot');
    need(Number(slider.max) === data.snapshots.length - 1, `slider max ${slider.max}; ${data.snapshots.length} snapshots`);
    slider.value = 0;
    slider.dispatchEvent(new Event('input'));
    need($('#snapshot-label').textContent.startsWith(`after step ${data.snapshots[0].step} `), 'slider did not show the first snapshot: ' + $('#snapshot-label').textContent);
    need($$('#heatmaps canvas').length === heads.length, 'slider lost heatmaps');
    slider.value = slider.max;
    slider.dispatchEvent(new Event('input'));

    need($('#samples').textContent.trim().length > 0, 'no samples');
    JSON.parse($('#summary').textContent);
    JSON.parse($('#config').textContent);
    need(!/\bhttps?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(document.documentElement.outerHTML.replace($('#report-data').textContent, '')), 'the page refers to the network');

    const res = document.createElement('pre');
    res.id = 'check-result';
    res.textContent = problems.length ? 'FAIL ' + problems.join(' | ').replace(/\s+/g, ' ')
      : `OK charts ${$$('svg path.series').length} curves, ${cvs.length} heatmaps of ${data.tokens.length} tokens (${checked} rows' darkest cells checked), ${data.snapshots.length} snapshots, ${data.step_losses.length} steps`;
    document.body.appendChild(res);
  } catch (e) {
    const res = document.createElement('pre');
    res.id = 'check-result';
    res.textContent = ('FAIL exception in check.js: ' + e).replace(/\s+/g, ' ');
    document.body.appendChild(res);
  }
})();
