// sysmon dashboard: what app.js's live charts and history.js's range charts
// share, so that both read the same: the one time format, the charts' time
// axis, a sane axis for a single point, the summary of many cores and the
// cursor sync of a host's charts. Loaded before both (index.html).
'use strict';

window.sysmonChartKit = (function () {
  const p2 = (n) => String(n).padStart(2, '0');
  const DAY = 86400;

  // The one time format of the dashboard: local, 24-hour,
  // "2026-11-29 08:17:48" (facts, tooltips, legends, events, zoom).
  function fmtTime(ms) {
    if (!ms || !Number.isFinite(ms)) return '–';
    const d = new Date(ms);
    return fmtDate(d) + ' ' + p2(d.getHours()) + ':' + p2(d.getMinutes()) + ':' + p2(d.getSeconds());
  }
  function fmtDate(d) {
    return d.getFullYear() + '-' + p2(d.getMonth() + 1) + '-' + p2(d.getDate());
  }

  // axisTimes formats a time axis's ticks (uPlot axis values, seconds) in
  // the same format, cut to what the ticks need: no date when the chart
  // spans a day at most, no time when the ticks are whole days, no seconds
  // when the ticks are whole minutes.
  function axisTimes(u, splits, axisIdx, space, incr) {
    const span = u.scales.x.max - u.scales.x.min;
    return splits.map((v) => {
      const d = new Date(v * 1000);
      const hm = p2(d.getHours()) + ':' + p2(d.getMinutes()) + (incr < 60 ? ':' + p2(d.getSeconds()) : '');
      if (span <= DAY) return hm;
      if (incr >= DAY) return fmtDate(d);
      return fmtDate(d) + '\n' + hm;
    });
  }

  // timeAxis is the x axis of every chart: the format above, and room
  // enough for a date under each tick.
  function timeAxis(base) {
    return Object.assign({}, base, {
      values: axisTimes,
      space: (u) => (u.scales.x.max - u.scales.x.min > DAY ? 90 : 60),
    });
  }

  // xRange keeps uPlot's range, but gives a chart with one point (or none)
  // a window of pad seconds either side of it. (uPlot stretches a single
  // time to a "day" of 86400/ms: 1000 days for times in seconds.)
  function xRange(pad) {
    return (u, min, max) => {
      const xs = u.data && u.data[0];
      if (!xs || xs.length === 0 || min == null || max == null) { const now = Date.now() / 1000; return [now - 2 * pad, now]; }
      const first = xs[0], last = xs[xs.length - 1];
      return first === last ? [first - pad, last + pad] : [min, max];
    };
  }

  // Over this many cores a chart draws their min/mean/max band and the
  // busiest few, not a line each: 64 lines are a tangle that no colour
  // tells apart, and the legend of 64 rows is longer than the page.
  const CORE_LINES = 8;
  const BUSIEST = 3;

  // coreSummary takes one column of values per core (null: no value) and
  // returns the min, mean and max across cores at each point, and the
  // indices of the k busiest cores (highest mean over the window).
  function coreSummary(cols, k) {
    const n = cols.length ? cols[0].length : 0;
    const min = new Array(n), mean = new Array(n), max = new Array(n);
    for (let i = 0; i < n; i++) {
      let lo = Infinity, hi = -Infinity, sum = 0, cnt = 0;
      for (const c of cols) {
        const v = c[i];
        if (v == null) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        sum += v;
        cnt++;
      }
      min[i] = cnt ? lo : null;
      max[i] = cnt ? hi : null;
      mean[i] = cnt ? sum / cnt : null;
    }
    const avg = cols.map((c, j) => {
      let s = 0, m = 0;
      for (const v of c) if (v != null) { s += v; m++; }
      return [m ? s / m : -1, j];
    });
    avg.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const top = avg.slice(0, k).filter(([a]) => a >= 0).map(([, j]) => j);
    return { min, mean, max, top };
  }

  // elideMiddle keeps both ends of a long name, where names differ
  // ("db-primary-eu-west-1a" and "db-primary-eu-west-1b",
  // "/var/lib/kubelet/pods/…/volumes/data").
  function elideMiddle(s, max) {
    if (s.length <= max) return s;
    const head = Math.ceil((max - 1) / 2);
    return s.slice(0, head) + '…' + s.slice(s.length - (max - 1 - head));
  }

  // syncKey is the cursor sync group of a host's charts: hovering one shows
  // the same instant on all of them.
  const syncKey = (host) => 'sysmon-host:' + host;

  // labelTitles puts each legend label's full text in its title, for the
  // labels that were elided.
  function labelTitles(u, full) {
    const labels = u.root.querySelectorAll('.u-legend .u-series .u-label');
    labels.forEach((lab, i) => {
      const t = full[i];
      if (t && t !== lab.textContent) lab.setAttribute('title', t);
    });
  }

  return { fmtTime, elideMiddle, axisTimes, timeAxis, xRange, coreSummary, CORE_LINES, BUSIEST, syncKey, labelTitles };
})();
