// sysmon dashboard: history from the consumer's store (GET /api/history,
// /api/events, /api/sparklines): the host view's range picker and its
// charts (min/max band around the mean on aggregates, gaps drawn as gaps,
// drag to zoom into finer data), the host's events, the fleet's events page
// (#/events) and a sparkline of the last hour's CPU on each overview tile.
//
// app.js owns the live view and calls window.sysmonHistory on every route.
// Same rules as app.js: text only into the DOM, no inline script.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const DASH = '–';

  // Ranges of the picker, in seconds; live is app.js's own charts.
  const RANGES = [['live', 0], ['1h', 3600], ['6h', 6 * 3600], ['24h', 86400], ['7d', 7 * 86400], ['30d', 30 * 86400], ['1y', 365 * 86400]];
  const RANGE_SEC = Object.fromEntries(RANGES);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const cssVar = (n) => getComputedStyle(document.documentElement).getPropertyValue(n).trim() || '#888';
  const palette = () => ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7', '--c8'].map(cssVar);
  function withAlpha(color, a) {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    return m ? 'rgba(' + parseInt(m[1], 16) + ',' + parseInt(m[2], 16) + ',' + parseInt(m[3], 16) + ',' + a + ')' : color;
  }
  function fmtRate(v) {
    if (v == null) return DASH;
    const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
  }
  const kit = window.sysmonChartKit;
  const fmtTime = kit.fmtTime; // the dashboard's one time format
  function fmtSpan(sec) {
    if (sec >= 86400) return Math.round(sec / 86400) + ' d';
    if (sec >= 3600) return Math.round(sec / 3600) + ' h';
    if (sec >= 60) return Math.round(sec / 60) + ' min';
    return Math.round(sec) + ' s';
  }

  // getJSON resolves with the body, or rejects with the server's own error
  // message (the API answers errors as {"error": "…"}).
  function getJSON(url) {
    return fetch(url, { headers: { Accept: 'application/json' }, cache: 'no-store' }).then((r) => r.json().catch(() => ({}))
      .then((b) => (r.ok ? b : Promise.reject(Object.assign(new Error(typeof b.error === 'string' ? b.error : 'HTTP ' + r.status), { status: r.status })))));
  }

  // Whether this consumer keeps a history, from /api/status (asked once, so
  // that a consumer without one is not asked for what it cannot answer).
  let noHistory = null; // null: has one; else why not
  const ready = getJSON('api/status').then((st) => {
    const h = st && typeof st.history === 'object' ? st.history : null;
    if (!h || h.enabled === false) noHistory = h && typeof h.reason === 'string' ? h.reason : 'not kept by this consumer';
  }).catch(() => { noHistory = 'the consumer did not say (/api/status failed)'; });

  // ------------------------------------------------------------ route state

  const hv = { host: null, range: 'live', from: null, to: null, plots: [], seq: 0, timer: null, fsAll: false, last: null };

  function hostHash(host, params) {
    const q = new URLSearchParams(params).toString();
    return '#/host/' + encodeURIComponent(host) + (q ? '?' + q : '');
  }

  // host is called by app.js's route() with the host shown (null: none)
  // and the hash's parameters.
  function host(name, params) {
    if (name == null) { leave(); return; }
    const p = params || new URLSearchParams();
    let range = p.get('range') || 'live';
    if (!(range in RANGE_SEC)) range = 'live';
    const from = num(Number(p.get('from'))), to = num(Number(p.get('to')));
    const zoomed = range !== 'live' && from != null && to != null && from < to;
    const changed = name !== hv.host || range !== hv.range || (zoomed ? from : null) !== hv.from || (zoomed ? to : null) !== hv.to;
    const newHost = name !== hv.host;
    hv.host = name;
    hv.range = range;
    hv.from = zoomed ? from : null;
    hv.to = zoomed ? to : null;
    ready.then(() => {
      buildPicker();
      if (noHistory != null && hv.range !== 'live') { location.hash = hostHash(name, {}); }
    });
    buildPicker();
    if (newHost) loadEvents();
    if (!changed) return;
    clearInterval(hv.timer);
    hv.timer = setInterval(() => { if (!document.hidden) { loadEvents(); if (hv.range !== 'live' && hv.from == null) loadSeries(); } }, 60000);
    if (range === 'live') {
      destroyPlots();
      $('hist').hidden = true;
      $('charts').hidden = false;
      $('hist-note').hidden = true;
      window.dispatchEvent(new Event('resize'));
    } else {
      $('charts').hidden = true;
      $('hist').hidden = false;
      ready.then(loadSeries);
    }
  }

  function leave() {
    hv.host = null;
    hv.seq++;
    clearInterval(hv.timer);
    destroyPlots();
    $('hist').hidden = true;
    $('charts').hidden = false;
  }

  function buildPicker() {
    const root = $('hv-range');
    root.hidden = noHistory != null;
    const want = RANGES.map(([r]) => r).join(',') + '|' + hv.host + '|' + hv.range + '|' + hv.from;
    if (root.__sig === want) return;
    root.__sig = want;
    const frag = document.createDocumentFragment();
    for (const [r] of RANGES) {
      const a = el('a', 'range-btn', r);
      a.setAttribute('href', hostHash(hv.host, r === 'live' ? {} : { range: r }));
      a.setAttribute('data-range', r);
      if (r === hv.range && hv.from == null) a.setAttribute('aria-current', 'true');
      frag.append(a);
    }
    if (hv.from != null) {
      const z = el('span', 'range-zoom', fmtTime(hv.from * 1000) + ' → ' + fmtTime(hv.to * 1000));
      z.setAttribute('data-zoom', '1');
      const reset = el('a', 'range-btn', 'reset zoom');
      reset.setAttribute('href', hostHash(hv.host, { range: hv.range }));
      reset.setAttribute('data-range', 'reset');
      frag.append(z, reset);
    }
    root.replaceChildren(frag);
  }

  // ------------------------------------------------------------ charts

  // Charts of the history: each figure's mean, with its min and max as a
  // band when the tier aggregates.
  // figs(s) lists [label, band] of the series' figures that it has.
  const FS_SHOWN = 6;
  const fig = (s, k) => (s.figures && s.figures[k] ? s.figures[k] : null);
  const named = (s, pairs) => pairs.map(([k, label]) => [label, fig(s, k)]).filter(([, b]) => b);
  const SPECS = [
    { id: 'cpu', title: 'CPU', unit: 'pct', figs: (s) => named(s, [['cpu', 'Total']]) },
    {
      id: 'cores', title: 'CPU per core', unit: 'pct', figs: (s) => {
        const cores = (Array.isArray(s.cores) ? s.cores : []).map((b, i) => ['core ' + i, b]).filter(([, b]) => b && Array.isArray(b.mean));
        if (cores.length <= kit.CORE_LINES) return cores;
        // Many cores: their band and the busiest few, as the live chart.
        const cols = cores.map(([, b]) => b.mean.map(num));
        const sm = kit.coreSummary(cols, kit.BUSIEST);
        const out = [['all ' + cores.length + ' cores', { mean: sm.mean, min: sm.min, max: sm.max, band: true }]];
        for (const j of sm.top) out.push([cores[j][0], { mean: cols[j] }]);
        out.note = cores.length + ' cores: the band spans min to max, the line is the mean, with the ' + sm.top.length + ' busiest cores.';
        return out;
      },
    },
    { id: 'mem', title: 'Memory and swap', unit: 'pct', figs: (s) => named(s, [['mem', 'Memory'], ['swap', 'Swap']]) },
    {
      // The fullest first (latest mean), FS_SHOWN of them until the user asks for all.
      id: 'fs', title: 'Filesystems', unit: 'pct', figs: (s) => {
        const last = (b) => { const m = Array.isArray(b.mean) ? b.mean : []; for (let i = m.length - 1; i >= 0; i--) if (num(m[i]) != null) return m[i]; return -1; };
        const all = named(s, Object.keys(s.figures || {}).filter((k) => k.startsWith('fs:'))
          .map((k) => [k, k.slice(3)])).sort(([a, x], [b, y]) => last(y) - last(x) || (a < b ? -1 : a > b ? 1 : 0));
        const out = (hv.fsAll ? all : all.slice(0, FS_SHOWN)).map(([label, b]) => [kit.elideMiddle(label, 28), b, label]);
        out.more = all.length - FS_SHOWN;
        return out;
      },
    },
    { id: 'diskio', title: 'Disk I/O', unit: 'rate', figs: (s) => named(s, [['rd', 'Read'], ['wr', 'Write']]) },
    { id: 'net', title: 'Network', unit: 'rate', figs: (s) => named(s, [['rx', 'In'], ['tx', 'Out']]) },
    { id: 'load', title: 'Load average', unit: 'load', figs: (s) => named(s, [['load1', '1 min'], ['load5', '5 min'], ['load15', '15 min']]) },
  ];

  function fmtFor(unit) {
    if (unit === 'pct') return (v) => (v == null ? DASH : v.toFixed(1) + '%');
    if (unit === 'rate') return fmtRate;
    return (v) => (v == null ? DASH : v.toFixed(2));
  }

  function destroyPlots() {
    for (const p of hv.plots) p.destroy();
    hv.plots = [];
    $('hist').replaceChildren();
  }

  function loadSeries() {
    if (noHistory != null || hv.host == null || hv.range === 'live') return;
    const seq = ++hv.seq;
    const name = hv.host;
    const now = Date.now() / 1000;
    const to = hv.to != null ? hv.to : now;
    const from = hv.from != null ? hv.from : now - RANGE_SEC[hv.range];
    const note = $('hist-note');
    note.hidden = false;
    note.textContent = 'Loading ' + fmtSpan(to - from) + ' of history…';
    getJSON('api/history?host=' + encodeURIComponent(name) + '&from=' + Math.floor(from) + '&to=' + Math.ceil(to))
      .then((s) => {
        if (seq !== hv.seq) return;
        hv.last = [s, from, to];
        draw(s, from, to);
        note.textContent = s.tier === 'raw'
          ? 'Every snapshot, ' + (Array.isArray(s.t) ? s.t.length : 0) + ' points. Drag across a chart to zoom in.'
          : 'Aggregates of ' + fmtSpan(num(s.step_seconds) || 0) + ': the line is the mean, the band min to max. Drag across a chart to zoom into finer data.';
        $('hist').setAttribute('data-tier', String(s.tier));
        $('hist').setAttribute('data-step', String(num(s.step_seconds) || 0));
        $('hist').setAttribute('data-points', String(Array.isArray(s.t) ? s.t.length : 0));
      })
      .catch((err) => {
        if (seq !== hv.seq) return;
        destroyPlots();
        note.textContent = 'No history to show: ' + err.message;
        $('hist').setAttribute('data-points', '0');
      });
  }

  function draw(s, from, to) {
    destroyPlots();
    const root = $('hist');
    const t = Array.isArray(s.t) ? s.t.map((v) => v / 1000) : [];
    const aggregate = num(s.step_seconds) > 0;
    const colors = palette();
    for (const spec of SPECS) {
      const figs = spec.figs(s);
      if (spec.id === 'cores' && figs.length === 0) continue; // aggregates keep no per-core figures
      const card = el('div', 'card chart');
      card.setAttribute('data-chart', spec.id);
      card.append(el('h2', '', spec.title));
      if (figs.note) card.append(el('p', 'chart-note', figs.note));
      const plotEl = el('div', 'plot');
      card.append(plotEl);
      if (figs.more > 0) {
        const more = el('button', 'more', hv.fsAll ? 'Show fewer' : '+' + figs.more + ' more');
        more.type = 'button';
        more.setAttribute('aria-expanded', String(hv.fsAll));
        more.setAttribute('aria-label', hv.fsAll ? 'Show fewer file systems' : '+' + figs.more + ' more file systems');
        more.addEventListener('click', () => { hv.fsAll = !hv.fsAll; if (hv.last) draw(...hv.last); });
        card.append(more);
      }
      root.append(card);
      if (figs.length === 0 || t.length === 0) {
        plotEl.append(el('div', 'nodata', 'No data in this range.'));
        card.setAttribute('data-points', '0');
        continue;
      }
      const fmt = fmtFor(spec.unit);
      // Without a cursor the legend shows the latest value.
      const legendValue = (u, v, si, idx) => {
        if (idx == null) { const col = u.data[si]; v = null; for (let i = col.length - 1; i >= 0 && v == null; i--) v = col[i]; }
        return fmt(v);
      };
      const data = [t];
      const series = [{ value: (u, v) => (v == null ? DASH : fmtTime(v * 1000)) }];
      const bands = [];
      let points = 0;
      const full = [null];
      figs.forEach(([label, b, whole], i) => {
        full.push(whole);
        const c = colors[i % colors.length];
        const mean = (b.mean || []).map(num);
        points += mean.filter((v) => v != null).length;
        data.push(mean);
        // A value between two gaps is a point, or it would not be drawn.
        const lone = mean.some((v, j) => v != null && mean[j - 1] == null && mean[j + 1] == null);
        series.push({ label, stroke: c, width: 1.5, spanGaps: false, points: { show: lone, size: 4 }, value: legendValue });
        if ((aggregate || b.band) && Array.isArray(b.min) && Array.isArray(b.max)) {
          full.push(null, null);
          const mi = data.length;
          data.push(b.max.map(num), b.min.map(num));
          series.push({ label: label + ' max', stroke: withAlpha(c, 0.35), width: 0.5, spanGaps: false, points: { show: false }, value: legendValue },
            { label: label + ' min', stroke: withAlpha(c, 0.35), width: 0.5, spanGaps: false, points: { show: false }, value: legendValue });
          bands.push({ series: [mi, mi + 1], fill: withAlpha(c, 0.18) });
        }
      });
      card.setAttribute('data-points', String(points));
      card.setAttribute('data-series', String(series.length - 1));
      card.setAttribute('data-bands', String(bands.length));
      // Gaps: runs of nulls between values (drawn as breaks, spanGaps off).
      let gaps = 0;
      const m0 = data[1];
      for (let i = 1; i < m0.length; i++) if (m0[i] == null && m0[i - 1] != null && m0.slice(i).some((v) => v != null)) gaps++;
      card.setAttribute('data-gaps', String(gaps));
      const axis = { stroke: cssVar('--muted'), grid: { stroke: cssVar('--grid'), width: 1 }, ticks: { stroke: cssVar('--grid'), width: 1, size: 4 }, font: '11px system-ui, sans-serif' };
      const opts = {
        width: Math.max(200, plotEl.clientWidth || root.clientWidth || 600),
        height: 200,
        // Dragging selects a span; it is fetched again (finer), not
        // stretched.
        cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 }, sync: { key: kit.syncKey(hv.host), setSeries: false } },
        select: { show: true },
        legend: { show: true, live: true },
        bands,
        scales: { x: { time: true, range: () => [from, to] }, y: { range: spec.unit === 'pct' ? [0, 100] : (u, lo, hi) => [0, hi > 0 ? hi * 1.15 : 1] } },
        axes: [kit.timeAxis(axis), Object.assign({}, axis, { size: spec.unit === 'rate' ? 72 : 48, values: (u, vals) => vals.map((v) => (spec.unit === 'pct' ? v + '%' : fmt(v))) })],
        series,
        hooks: { setSelect: [zoom] },
      };
      // eslint-disable-next-line no-undef
      const u = new uPlot(opts, data, plotEl);
      kit.labelTitles(u, full);
      hv.plots.push(u);
    }
  }

  // zoom turns a drag across a chart into the span's URL: the route fetches
  // it again, from the finest tier that covers it.
  function zoom(u) {
    if (u.select.width < 4) return;
    const a = u.posToVal(u.select.left, 'x'), b = u.posToVal(u.select.left + u.select.width, 'x');
    u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    if (!(b - a >= 1)) return;
    location.hash = hostHash(hv.host, { range: hv.range, from: Math.floor(a), to: Math.ceil(b) });
  }

  if ('ResizeObserver' in window) {
    new ResizeObserver(() => {
      for (const p of hv.plots) {
        const w = Math.max(200, p.root.parentElement.clientWidth);
        if (Math.abs(p.width - w) > 1) p.setSize({ width: w, height: 200 });
      }
    }).observe($('hist'));
  }

  // ------------------------------------------------------------ events

  function eventRow(e, withHost) {
    const tr = el('tr');
    tr.setAttribute('data-kind', String(e.kind));
    const ms = Date.parse(e.t);
    const td = el('td', 'ev-time', Number.isFinite(ms) ? fmtTime(ms) : String(e.t));
    tr.append(td);
    if (withHost) {
      const h = el('td');
      const a = el('a', '', String(e.host));
      a.setAttribute('href', hostHash(String(e.host), {}));
      h.append(a);
      tr.append(h);
    }
    const k = el('td');
    const badge = el('span', 'ev-kind', String(e.kind));
    badge.setAttribute('data-kind', String(e.kind));
    k.append(badge);
    tr.append(k, el('td', 'ev-detail', e.detail ? String(e.detail) : ''));
    return tr;
  }

  function fillEvents(body, note, url, withHost) {
    return ready.then(() => {
      if (noHistory != null) return Promise.reject(new Error('no history: ' + noHistory));
      return getJSON(url);
    }).then((r) => {
      const evs = Array.isArray(r.events) ? r.events : [];
      body.replaceChildren(...evs.map((e) => eventRow(e, withHost)));
      note.textContent = evs.length ? '' : 'No events in the last 7 days.';
    }).catch((err) => {
      body.replaceChildren();
      note.textContent = 'No events to show: ' + err.message;
    });
  }

  function loadEvents() {
    const name = hv.host;
    if (name == null) return;
    fillEvents($('hv-events').tBodies[0], $('hv-events-note'), 'api/events?limit=50&host=' + encodeURIComponent(name), false);
  }

  let eventsTimer = null;
  function showEvents() {
    const load = () => fillEvents($('ev-table').tBodies[0], $('ev-note'), 'api/events?limit=1000', true);
    load();
    clearInterval(eventsTimer);
    eventsTimer = setInterval(() => { if (!document.hidden) load(); }, 15000);
  }
  function hideEvents() { clearInterval(eventsTimer); }

  // ------------------------------------------------------------ sparklines

  // Each tile on screen gets the last hour's CPU, fetched in batches of up
  // to 100 hosts and kept for a minute: scrolling through 10,000 hosts costs
  // a request per screenful, not one per host.
  const SPARK_TTL = 60000;
  const sparks = new Map(); // host -> {at, t, cpu}
  const wanted = new Set();
  let sparkTimer = null;
  let sparkOff = false; // no history on this consumer

  const sparkIO = 'IntersectionObserver' in window ? new IntersectionObserver((entries) => {
    for (const en of entries) {
      const name = en.target.getAttribute('data-host');
      if (en.isIntersecting && name != null) { wanted.add(name); drawSpark(en.target); }
    }
    queueSparks();
  }, { rootMargin: '200px 0px' }) : null;

  function queueSparks() {
    if (sparkTimer || sparkOff) return;
    sparkTimer = setTimeout(() => ready.then(() => {
      if (noHistory != null) { sparkOff = true; sparkTimer = null; return; }
      fetchSparks();
    }), 150);
  }

  function fetchSparks() {
    sparkTimer = null;
    const now = Date.now();
    const batch = [];
    for (const n of wanted) {
      const s = sparks.get(n);
      if (!s || now - s.at > SPARK_TTL) batch.push(n);
      if (batch.length >= 100) break;
    }
    wanted.clear();
    if (batch.length === 0) return;
    for (const n of batch) sparks.set(n, Object.assign(sparks.get(n) || {}, { at: now }));
    getJSON('api/sparklines?' + batch.map((n) => 'host=' + encodeURIComponent(n)).join('&')).then((r) => {
      const hosts = r && typeof r.hosts === 'object' && r.hosts ? r.hosts : {};
      for (const n of batch) {
        const h = hosts[n];
        sparks.set(n, { at: now, t: h && Array.isArray(h.t) ? h.t : [], cpu: h && Array.isArray(h.cpu) ? h.cpu : [], from: Date.parse(r.from), to: Date.parse(r.to) });
      }
      for (const tile of document.querySelectorAll('#tiles .tile')) if (batch.includes(tile.getAttribute('data-host'))) drawSpark(tile);
    }).catch((err) => {
      if (err.status === 404 || err.status === 503) sparkOff = true;
    });
  }

  // drawSpark draws a tile's sparkline as SVG paths, not on a canvas: a
  // canvas is a layer of its own, copied at every frame the page scrolls
  // (at 10,000 hosts, the grid's scrolling lost a third of its frames to
  // the canvases of the tiles on screen); paths are drawn with the tile.
  const SVG = 'http://www.w3.org/2000/svg';
  const SPARK_W = 240, SPARK_H = 32;
  function drawSpark(tile) {
    const s = sparks.get(tile.getAttribute('data-host'));
    if (!s || !s.t) return;
    let svg = tile.querySelector('svg.spark');
    if (!svg) {
      svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('class', 'spark');
      svg.setAttribute('aria-hidden', 'true');
      svg.setAttribute('viewBox', '0 0 ' + SPARK_W + ' ' + SPARK_H);
      svg.setAttribute('preserveAspectRatio', 'none');
      const title = document.createElementNS(SVG, 'title');
      title.textContent = 'CPU, last hour';
      const line = document.createElementNS(SVG, 'path');
      line.setAttribute('class', 'spark-line');
      const dots = document.createElementNS(SVG, 'path');
      dots.setAttribute('class', 'spark-dots');
      svg.append(title, line, dots);
      tile.append(svg);
    }
    svg.setAttribute('data-points', String(s.cpu.filter((v) => num(v) != null).length));
    const from = s.from || Date.now() - 3600000, to = s.to || Date.now();
    const xy = (i) => ((s.t[i] - from) / (to - from) * SPARK_W).toFixed(1) + ' ' +
      (SPARK_H - 1 - Math.min(100, Math.max(0, num(s.cpu[i]))) / 100 * (SPARK_H - 2)).toFixed(1);
    let line = '', dots = '';
    for (let i = 0; i < s.t.length; i++) {
      if (num(s.cpu[i]) == null) continue; // a gap stays a gap
      const prev = i > 0 && num(s.cpu[i - 1]) != null, next = i + 1 < s.t.length && num(s.cpu[i + 1]) != null;
      if (prev) line += 'L' + xy(i);
      else if (next) line += 'M' + xy(i);
      else dots += 'M' + xy(i) + 'm-1.5 -1.5h3v3h-3z'; // a value alone between gaps: a dot
    }
    svg.children[1].setAttribute('d', line);
    svg.children[2].setAttribute('d', dots);
  }

  // Tiles come and go with app.js's layout: watch #tiles for new ones, if
  // this consumer keeps a history. Without one, nothing is watched: the
  // observer looked at every tile drawn at every frame of a scroll (60 to
  // 90 ms of the main thread in a 3 s scroll at 10,000 hosts) for
  // sparklines it could never draw.
  function watchTiles() {
    const tiles = $('tiles');
    if (!tiles || !sparkIO || noHistory != null) return;
    const observe = (n) => { if (n.nodeType === 1 && n.classList.contains('tile') && !n.__spark) { n.__spark = true; sparkIO.observe(n); } };
    for (const n of tiles.children) observe(n);
    new MutationObserver((muts) => {
      for (const m of muts) {
        for (const n of m.addedNodes) { observe(n); if (n.__spark && sparks.has(n.getAttribute('data-host'))) drawSpark(n); }
      }
    }).observe(tiles, { childList: true });
    // Refresh what is on screen once a minute.
    setInterval(() => {
      if (document.hidden || sparkOff || $('overview').hidden) return;
      for (const n of tiles.children) {
        const r = n.getBoundingClientRect();
        if (r.bottom > -200 && r.top < window.innerHeight + 200) wanted.add(n.getAttribute('data-host'));
      }
      queueSparks();
    }, SPARK_TTL);
  }

  document.addEventListener('DOMContentLoaded', () => ready.then(watchTiles));

  window.sysmonHistory = { host, showEvents, hideEvents };
})();
