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

    // Heatmaps: one canvas per head of every attention layer, painted: the cells hold
    // dark pixels where the weights are large and the canvas is not blank.
    const last = data.snapshots[data.snapshots.length - 1];
    const heads = last.weights.filter((l) => l).reduce((n, l) => n + l.length, 0);
    const painted = () => {
      const cvs = $$('#heatmaps canvas');
      return cvs.filter((cv) => {
        const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
        let dark = 0;
        for (let i = 0; i < px.length; i += 4) if (px[i] < 100 && px[i + 2] > 90) dark++; // dark blue cells
        return dark > 50;
      }).length;
    };
    const cvs = $$('#heatmaps canvas');
    need(cvs.length === heads, `${cvs.length} heatmaps; want ${heads} (layers × heads)`);
    const nPainted = painted();
    need(nPainted === heads, `${nPainted} of ${heads} heatmaps have dark cells`);
    need($$('#heatmaps figcaption').length === heads, 'heatmap captions missing');
    need(data.tokens.length === last.weights.find((l) => l)[0].length, 'tokens do not match the weights');

    // The slider moves between snapshots and redraws.
    const slider = $('#snapshot');
    need(Number(slider.max) === data.snapshots.length - 1, `slider max ${slider.max}; ${data.snapshots.length} snapshots`);
    slider.value = 0;
    slider.dispatchEvent(new Event('input'));
    need($('#snapshot-label').textContent.startsWith(`after step ${data.snapshots[0].step} `), 'slider did not show the first snapshot: ' + $('#snapshot-label').textContent);
    need($$('#heatmaps canvas').length === heads, 'slider lost heatmaps');
    slider.value = slider.max;
    slider.dispatchEvent(new Event('input'));

    need($('#samples').textContent.trim().length > 0, 'no samples');
    JSON.parse($('#summary').textContent);
    JSON.parse($('#config').textContent);
    need(!/\bhttps?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(document.documentElement.outerHTML.replace($('#report-data').textContent, '')), 'the page refers to the network');

    const res = document.createElement('pre');
    res.id = 'check-result';
    res.textContent = problems.length ? 'FAIL ' + problems.join(' | ')
      : `OK charts ${$$('svg path.series').length} curves, ${cvs.length} heatmaps of ${data.tokens.length} tokens, ${data.snapshots.length} snapshots, ${data.step_losses.length} steps`;
    document.body.appendChild(res);
  } catch (e) {
    const res = document.createElement('pre');
    res.id = 'check-result';
    res.textContent = 'FAIL exception in check.js: ' + e;
    document.body.appendChild(res);
  }
})();
