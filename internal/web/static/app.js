// sysmon dashboard: keeps the fleet state it receives over /ws and draws it.
//
// Rules this file keeps:
// - Every string that came from a message reaches the DOM as text (textContent,
//   createTextNode, setAttribute of plain attributes), never as HTML.
// - Frames only change the state and mark hosts dirty; drawing happens once per
//   animation frame, touches only dirty tiles that are shown, and nothing of the
//   overview is drawn while the host view is open (and vice versa).
// - Charts (uPlot) exist only in the host view.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const kit = window.sysmonChartKit;

  // ---------------------------------------------------------------- formatting

  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const DASH = '–';

  function fmtPct(v) {
    return v == null ? DASH : v.toFixed(1) + '%';
  }

  function fmtBytes(v) {
    if (v == null) return DASH;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? Math.round(v) : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : Math.round(v)) + ' ' + units[i];
  }

  function fmtRate(v) {
    if (v == null) return DASH;
    const units = ['B/s', 'kB/s', 'MB/s', 'GB/s', 'TB/s'];
    let i = 0;
    while (Math.abs(v) >= 1000 && i < units.length - 1) { v /= 1000; i++; }
    return (i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)) + ' ' + units[i];
  }

  function fmtLoad(v) {
    return v == null ? DASH : v.toFixed(2);
  }

  function fmtDuration(sec) {
    if (sec == null || sec < 0) return DASH;
    sec = Math.floor(sec);
    const d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600), m = Math.floor(sec % 3600 / 60);
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + m + 'm';
    if (m > 0) return m + 'm';
    return sec + 's';
  }

  function fmtAgo(ms) {
    if (ms == null || !Number.isFinite(ms) || ms > 1e12) return 'never';
    const s = Math.max(0, ms / 1000);
    if (s < 2) return 'just now';
    if (s < 60) return Math.floor(s) + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }

  function fmtTemp(v) {
    return v == null ? DASH : v.toFixed(1) + ' °C';
  }

  function fmtOps(v) {
    return v == null ? DASH : (v < 10 ? v.toFixed(1) : String(Math.round(v))) + '/s';
  }

  // The dashboard's one time format, "2026-11-27 03:12:27" (chartkit.js).
  const fmtTime = kit.fmtTime;

  // ---------------------------------------------------------------- state

  const DEFAULT_CONFIG = {
    thresholds: {
      cpu: { warn: 80, crit: 95 },
      memory: { warn: 85, crit: 95 },
      swap: { warn: 50, crit: 80 },
      disk: { warn: 85, crit: 95 },
      load: { warn: 1.5, crit: 3 },
    },
    stale_after_intervals: 3,
    offline_after_intervals: 10,
    // Floors: the consumer's HOST_STALE_MIN and HOST_OFFLINE_MIN (fleet.Config.Limits).
    stale_min_seconds: 10,
    offline_min_seconds: 60,
  };
  // Re-rank a metric sort at most this often: a grid that reshuffles every
  // second makes a click open the wrong host.
  const RESORT_MS = 5000;
  // A delay of the consumer under this is not worth a word.
  const DELAY_SHOWN = 5;
  // The layout of the rows stream.js passes: its head, then the figures it
  // passes as numbers, in its order (it says which with each state).
  let NUMS = [];
  let ROW_HEAD = 3;
  let ROW_STRIDE = ROW_HEAD;
  let NUM_AT = new Map(); // a figure's name -> its place in NUMS
  // IX: each figure's place in NUMS (-1: not passed), read by deriveFigures
  // for every entry: 20 lookups by name in NUM_AT for each host of a state
  // took a tenth of its first render.
  let IX = numIndex();
  function numIndex() {
    const at = (k) => (NUM_AT.has(k) ? NUM_AT.get(k) : -1);
    return { cpu: at('cpu'), mem: at('mem'), memTotal: at('mem_total'), swap: at('swap'), swapTotal: at('swap_total'),
      disk: at('disk'), load1: at('load1'), load5: at('load5'), load15: at('load15'), cores: at('cores'),
      loadPerCore: at('load_per_core'), rx: at('rx'), tx: at('tx'), uptime: at('uptime'), seq: at('seq'),
      rdOps: at('rd_ops'), wrOps: at('wr_ops'), temp: at('temp') };
  }
  const STATUS_RANK = { live: 0, stale: 1, offline: 2 };
  const LEVEL_RANK = { ok: 0, warn: 1, crit: 2 };

  const state = {
    config: DEFAULT_CONFIG,
    hosts: new Map(), // host key -> Host
    offset: 0, // local clock minus server clock, ms
    historyCap: 300,
    conn: 'connecting',
    view: 'overview', // or 'host'
    routeHost: null,
    filter: '',
    filterParsed: { names: [], tags: [] }, // parseFilter(filter)
    problemsOnly: false,
    statusFilter: '', // a header count: crit, warn, degraded, live, stale, offline
    sort: 'name',
    group: '', // a tag key: the grid in one section per value of it
    reverse: false, // the table's header clicked again: the sort upside down
    mode: 'grid', // the overview's view: grid, table or map (#/grid, #/table, #/map)
    delay: 0, // seconds the consumer is behind (api/status), when worth saying
    suffix: '', // a domain every host name ends with, not repeated on tiles
    // While a state comes in parts (a big fleet: stream.js): its hosts so
    // far, and how many it has in all; null once the last part is in.
    receiving: null, // { keep: Set of host keys, total }
  };

  const dirty = new Set(); // hosts whose tile must be redrawn
  let layoutDirty = true; // tile set or order must be recomputed
  let metricsChangedSinceSort = false;
  let hostViewDirty = false;

  const serverNow = () => Date.now() - state.offset;

  function newHost(key) {
    return {
      key,
      hostId: '',
      legacy: false,
      lastSeen: 0,
      interval: 0,
      goodbye: false,
      serverStatus: 'live',
      snapshot: null,
      figures: null,
      // The figures stream.js passes as numbers, in NUMS order (NaN: none),
      // beside h.figures rather than in it: 20 properties added to each
      // of 10,000 objects by a computed key turned every one into a
      // dictionary (V8) and took 0.1 s of the first render's frame.
      nums: null,
      history: [],
      historyFull: false,
      historyLoading: false,
      status: 'live',
      m: {},
      level: 'ok',
      degraded: false,
      tile: null, // the grid's tile, while on screen
      row: null, // the table's row, while on screen
      cell: null, // the map's cell
      pos: -1, // place in the last ranking
      shown: false,
      tileStale: true,
    };
  }

  function mergeConfig(cfg) {
    const out = JSON.parse(JSON.stringify(DEFAULT_CONFIG));
    if (!cfg || typeof cfg !== 'object') return out;
    const th = cfg.thresholds;
    if (th && typeof th === 'object') {
      for (const k of Object.keys(out.thresholds)) {
        const t = th[k];
        if (t && typeof t === 'object') {
          if (num(t.warn) != null) out.thresholds[k].warn = t.warn;
          if (num(t.crit) != null) out.thresholds[k].crit = t.crit;
        }
      }
    }
    if (num(cfg.stale_after_intervals) > 0) out.stale_after_intervals = cfg.stale_after_intervals;
    if (num(cfg.offline_after_intervals) > 0) out.offline_after_intervals = cfg.offline_after_intervals;
    if (num(cfg.stale_min_seconds) >= 0) out.stale_min_seconds = cfg.stale_min_seconds;
    if (num(cfg.offline_min_seconds) >= 0) out.offline_min_seconds = cfg.offline_min_seconds;
    return out;
  }

  function levelOf(v, th) {
    if (v == null || !th) return 'ok';
    if (v >= th.crit) return 'crit';
    if (v >= th.warn) return 'warn';
    return 'ok';
  }

  function worseLevel(a, b) { return LEVEL_RANK[b] > LEVEL_RANK[a] ? b : a; }

  const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : null);
  const str = (v) => (typeof v === 'string' ? v : v == null ? '' : String(v));

  // derive reads the figures the consumer derived from the host's latest
  // snapshot (HostEntry.figures, internal/hub/protocol.go) and rates them
  // against the thresholds. The snapshot itself is shown in the JSON panel
  // only: no figure is computed from it here.
  function derive(h) {
    const f = obj(h.figures) || {};
    const m = {};
    m.fs = Array.isArray(f.fs) ? f.fs.filter(obj) : [];
    m.net = Array.isArray(f.net) ? f.net.filter(obj) : [];
    m.listsKnown = Array.isArray(f.fs); // lean entries leave the lists out
    m.platform = str(f.platform);
    m.release = str(f.platform_release);
    m.processor = str(f.processor);
    m.agent = str(f.agent_version);
    m.sampledAt = str(f.sampled_at);
    // Sources the publisher could not read (an NFS mount that hangs): the
    // figures look fine but are not the whole truth.
    m.missing = Array.isArray(f.missing) ? f.missing.filter((x) => typeof x === 'string' && x !== '') : [];
    // HOST_TAGS, sorted by key; the hottest sensor; the sensors (complete
    // entries only, like fs and net).
    const tags = obj(f.tags) || {};
    m.tags = Object.keys(tags).filter((k) => typeof tags[k] === 'string').sort().map((k) => [k, tags[k]]);
    m.tempSensor = str(f.temp_sensor);
    m.lvTemp = f.temp_level === 'crit' || f.temp_level === 'warn' ? f.temp_level : 'ok'; // the sensors' own marks
    m.temps = Array.isArray(f.temps) ? f.temps.filter(obj) : [];
    h.m = m;
    h.degraded = m.missing.length > 0;
    deriveFigures(h);
  }

  // deriveFigures reads the numbers of h.figures into h.m and rates them:
  // all that changes from one second to the next for most hosts.
  function deriveFigures(h) {
    const f = obj(h.figures) || {};
    const m = h.m;
    const ns = h.nums;
    const x = IX;
    const n = (i) => {
      const v = ns && i >= 0 ? ns[i] : NaN;
      return v === v ? v : null;
    };
    m.cpu = n(x.cpu);
    m.mem = n(x.mem);
    m.memTotal = n(x.memTotal);
    m.swap = n(x.swap); // null without swap: nothing to warn about
    m.swapTotal = n(x.swapTotal);
    m.disk = n(x.disk); // the fullest filesystem, a prototype's root included
    m.diskMount = m.disk == null ? '' : str(f.disk_mount);
    m.load1 = n(x.load1);
    m.load5 = n(x.load5);
    m.load15 = n(x.load15);
    m.cores = n(x.cores);
    m.loadPerCore = n(x.loadPerCore);
    m.rx = n(x.rx);
    m.tx = n(x.tx);
    m.uptime = n(x.uptime);
    m.seq = n(x.seq);
    m.rdOps = n(x.rdOps);
    m.wrOps = n(x.wrOps);
    m.temp = n(x.temp);

    const th = state.config.thresholds;
    m.lvCpu = levelOf(m.cpu, th.cpu);
    m.lvMem = levelOf(m.mem, th.memory);
    m.lvSwap = levelOf(m.swap, th.swap);
    m.lvDisk = levelOf(m.disk, th.disk);
    m.lvLoad = levelOf(m.loadPerCore, th.load);
    h.level = worseLevel(worseLevel(worseLevel(worseLevel(m.lvCpu, m.lvMem), m.lvSwap), m.lvDisk), m.lvLoad);
  }

  function computeStatus(h) {
    if (h.goodbye) return 'offline';
    const cfg = state.config;
    let s = 'live';
    if (h.interval > 0 && h.lastSeen > 0) {
      // The consumer's rule (fleet.Config.Limits), plus the delay it says
      // it is behind: a consumer that lags has not lost its hosts.
      const age = serverNow() - h.lastSeen - state.delay * 1000;
      if (age > Math.max(cfg.offline_after_intervals * h.interval, cfg.offline_min_seconds) * 1000) s = 'offline';
      else if (age > Math.max(cfg.stale_after_intervals * h.interval, cfg.stale_min_seconds) * 1000) s = 'stale';
    }
    // Never better than what the server said when it sent this entry.
    const srv = STATUS_RANK[h.serverStatus] != null ? h.serverStatus : 'live';
    return STATUS_RANK[srv] > STATUS_RANK[s] ? srv : s;
  }

  // applyEntry takes a whole entry and its row's numbers (rows, at).
  function applyEntry(e, withHistory, rows, at) {
    if (!obj(e) || typeof e.host !== 'string' || e.host === '') return;
    let h = state.hosts.get(e.host);
    if (!h) {
      h = newHost(e.host);
      // A host seen for the first time while its view is open has all its history here.
      h.historyFull = state.routeHost === e.host;
      state.hosts.set(e.host, h);
      layoutDirty = true;
      hostsChanged = true;
      fleetChanged = true;
    }
    if (typeof e.host_id === 'string') h.hostId = e.host_id;
    h.legacy = e.legacy === true;
    const seen = Date.parse(e.last_seen);
    if (Number.isFinite(seen)) h.lastSeen = seen;
    if (obj(e.snapshot)) h.snapshot = e.snapshot;
    if (obj(e.figures)) {
      // Entries are lean: without the lists only the host view shows (fs,
      // net) and the snapshot; keep those last known until the watched
      // entry (applyWatched) or GET api/hosts?host= (loadHistory) brings them.
      if (!Array.isArray(e.figures.fs) && h.figures) {
        e.figures.fs = h.figures.fs; e.figures.net = h.figures.net; e.figures.temps = h.figures.temps;
      }
      h.figures = e.figures;
      takeNums(h, rows, at);
    }
    const iv = num(e.interval_seconds);
    if (iv != null) h.interval = iv;
    h.goodbye = e.goodbye === true;
    h.serverStatus = typeof e.status === 'string' ? e.status : 'live';
    const wasStatus = h.status, wasLevel = h.level, wasDegraded = h.degraded;

    if (withHistory) {
      // A state entry has no point; the whole history is GET
      // api/hosts?host=NAME, fetched for the host on screen (applyState).
      const hist = Array.isArray(e.history) ? e.history.filter(obj) : obj(e.point) ? [e.point] : [];
      h.historyFull = false;
      h.historyLoading = false;
      h.history = hist.slice(-1);
    } else {
      addPoints(h, e); // complete entries only (?complete=1): lean ones have no point
    }

    const tagsBefore = (h.m.tags || []).join(',');
    derive(h);
    if ((h.m.tags || []).join(',') !== tagsBefore) { hostsChangedTags = true; layoutDirty = true; }
    settle(h, wasStatus, wasLevel, wasDegraded);
  }

  // applyRow takes the numbers of a host's entry whose other fields are as
  // they were (stream.js): at 10,000 hosts, nearly every entry of a second.
  function applyRow(h, rows, at) {
    const seen = rows[at + 1];
    if (seen === seen) h.lastSeen = seen; // NaN: not a time
    const iv = rows[at + 2];
    if (iv === iv) h.interval = iv;
    if (!h.figures) h.figures = {};
    takeNums(h, rows, at);
    const wasStatus = h.status, wasLevel = h.level, wasDegraded = h.degraded;
    deriveFigures(h);
    settle(h, wasStatus, wasLevel, wasDegraded);
  }

  // takeNums copies the figures of the row at `at` of rows into h.nums.
  // An array of numbers, not a Float64Array: a typed array of 20 figures
  // has its memory outside the JavaScript heap, and allocating one for
  // each of 10,000 hosts took 0.13 s of a state's first render.
  function takeNums(h, rows, at) {
    if (!(rows instanceof Float64Array) || !(at >= 0) || at + ROW_STRIDE > rows.length) return;
    if (!h.nums || h.nums.length !== NUMS.length) h.nums = new Array(NUMS.length).fill(NaN);
    for (let k = 0; k < NUMS.length; k++) h.nums[k] = rows[at + ROW_HEAD + k];
  }

  function settle(h, wasStatus, wasLevel, wasDegraded) {
    h.status = computeStatus(h);
    if (moves(h, wasStatus, wasLevel, wasDegraded)) layoutDirty = true;
    markDirty(h);
    metricsChangedSinceSort = true;
    if (state.routeHost === h.key) hostViewDirty = true;
  }

  // moves tells whether a change of a host's status or level moves it in
  // the overview: in or out of the Down group or of a filter, or to another
  // problem rank of "worst first" (a status at once; a level waits for the
  // calm re-ranking). Otherwise its tile, row or cell is redrawn where it
  // is: at 10,000 hosts a consumer that lags turns hosts stale and live
  // again in waves, and each relayout went through the whole fleet.
  function moves(h, wasStatus, wasLevel, wasDegraded) {
    if ((wasStatus === 'offline') !== (h.status === 'offline')) return true;
    const filtered = state.problemsOnly || state.statusFilter !== '';
    if (wasStatus !== h.status && (filtered || state.sort === 'worst')) return true;
    return filtered && (wasLevel !== h.level || wasDegraded !== h.degraded);
  }

  // addPoints files an entry's points into its host's live history: point,
  // and points, the earlier ones of updates the server merged in one tick.
  // Only complete entries have them: the watched host's (applyWatched).
  function addPoints(h, e) {
    if (!obj(e.point)) return;
    const pts = Array.isArray(e.points) ? e.points.filter(obj) : [];
    pts.push(e.point);
    const hist = h.history;
    for (const p of pts) {
      const last = hist.length ? hist[hist.length - 1] : null;
      const t = num(p.t);
      if (last && t != null && num(last.t) != null && t <= last.t) {
        if (t === last.t) hist[hist.length - 1] = p; // same sample sent again
      } else {
        hist.push(p);
      }
    }
    if (!h.historyFull && !h.historyLoading) hist.splice(0, hist.length - 1);
    else if (hist.length > state.historyCap * 1.25) hist.splice(0, hist.length - state.historyCap);
  }

  function markDirty(h) {
    dirty.add(h);
    h.tileStale = true;
  }

  // applyState takes the first part of a state: msg.hosts are entries
  // whose numbers are in msg.rows, at row e.r; msg.more says that parts
  // follow (applyStatePart), msg.total the hosts of them all.
  function applyState(msg) {
    state.config = mergeConfig(msg.config);
    const st = Date.parse(msg.server_time);
    state.offset = Number.isFinite(st) ? Date.now() - st : 0;
    state.receiving = { keep: new Set(), total: Number.isInteger(msg.total) ? msg.total : 0 };
    pollDelay();
    renderThresholds();
    setConn('connected');
    applyStatePart(msg);
  }

  // applyStatePart takes a part of the state. The hosts come as they are
  // drawn: at 100,000 hosts the first thousand are on screen while the
  // others are on their way. Once the last part is in, the hosts the
  // server no longer knows (from before a reconnection) go.
  function applyStatePart(msg) {
    const r = state.receiving;
    if (!r) return; // a part without its state: not from this connection
    const entries = Array.isArray(msg.hosts) ? msg.hosts : [];
    for (const e of entries) {
      if (!obj(e) || typeof e.host !== 'string') continue;
      r.keep.add(e.host);
      applyEntry(e, true, msg.rows, e.r * ROW_STRIDE);
      indexHost(e);
    }
    if (msg.more !== true) {
      for (const key of state.hosts.keys()) if (!r.keep.has(key)) removeHost(key);
      state.receiving = null;
      if (state.routeHost != null) loadHistory(state.routeHost);
      hostViewDirty = true;
      chartsNeedRebuild = true;
    }
    layoutDirty = true;
    schedule();
  }

  // removeHost forgets a host the consumer no longer knows (expired or
  // evicted: an update entry {"host":…,"removed":true}).
  function removeHost(key) {
    const h = state.hosts.get(key);
    if (!h) return;
    releaseHost(h);
    dirty.delete(h);
    state.hosts.delete(key);
    if (h.index !== undefined && byIndex[h.index] === h) delete byIndex[h.index];
    layoutDirty = true;
    hostsChanged = true;
    fleetChanged = true;
    if (state.routeHost === key) hostViewDirty = true;
  }

  // byIndex: the host of each index stream.js gives a row.
  let byIndex = [];
  function indexHost(e) {
    const h = state.hosts.get(e.host);
    if (!h) return;
    byIndex[e.i] = h;
    h.index = e.i;
  }

  // applyFrame takes a frame as stream.js passes it on: whole entries where
  // more than the numbers changed, rows for the others.
  function applyFrame(fr) {
    const rows = fr.rows instanceof Float64Array ? fr.rows : new Float64Array(0);
    const full = Array.isArray(fr.full) ? fr.full : [];
    if (fr.kind === 'state') {
      if (Array.isArray(fr.nums) && Number.isInteger(fr.head)) {
        NUMS = fr.nums;
        ROW_HEAD = fr.head;
        ROW_STRIDE = ROW_HEAD + NUMS.length;
        NUM_AT = new Map(NUMS.map((k, i) => [k, i]));
        IX = numIndex();
      }
      byIndex = [];
      attempt = 0;
      applyState({ config: fr.config, server_time: fr.server_time, total: fr.total, more: fr.more, hosts: full, rows });
      return;
    }
    if (fr.kind === 'state_part') {
      applyStatePart({ more: fr.more, hosts: full, rows });
      return;
    }
    // A removal comes before the row it names (r): in the frame's order,
    // so that a host's entry followed by its removal leaves it removed.
    const removed = Array.isArray(fr.removed) ? fr.removed : [];
    let d = 0;
    const removeBefore = (r) => {
      for (; d < removed.length && obj(removed[d]) && !(removed[d].r > r); d++) removeHost(removed[d].host);
    };
    let k = 0;
    for (let r = 0, at = 0; at < rows.length; r++, at += ROW_STRIDE) {
      removeBefore(r);
      if (k < full.length && full[k].r === r) {
        const e = full[k++];
        applyEntry(e, false, rows, at);
        indexHost(e);
        continue;
      }
      const h = byIndex[rows[at]];
      if (h && state.hosts.get(h.key) === h) applyRow(h, rows, at);
    }
    removeBefore(Infinity);
    if (obj(fr.watched)) applyWatched(fr.watched);
    schedule();
  }

  // applyWatched takes the complete entry of the host on screen (sendWatch):
  // its snapshot and the figures' lists that the other entries leave out.
  function applyWatched(e) {
    const h = typeof e.host === 'string' ? state.hosts.get(e.host) : null;
    if (!h) return;
    if (obj(e.snapshot)) h.snapshot = e.snapshot;
    if (h.figures && obj(e.figures) && Array.isArray(e.figures.fs)) {
      h.figures.fs = e.figures.fs;
      h.figures.net = Array.isArray(e.figures.net) ? e.figures.net : [];
      h.figures.temps = Array.isArray(e.figures.temps) ? e.figures.temps : []; // absent: no sensors
      derive(h);
    }
    addPoints(h, e); // the live charts: only the watched entry has points
    if (state.routeHost === h.key) hostViewDirty = true;
  }

  // ---------------------------------------------------------------- connection

  // stream.js, a Web Worker, owns the WebSocket and parses its frames: the
  // main thread only applies what changed and draws.
  const stream = new Worker('stream.js');
  let open = false; // the worker's socket is open
  let connecting = false;
  let attempt = 0;
  let retryAt = 0;
  let retryTimer = 0;

  stream.onmessage = (ev) => {
    const m = ev.data;
    if (!obj(m)) return;
    if (m.type === 'frame') applyFrame(m);
    else if (m.type === 'open') { open = true; connecting = false; }
    else if (m.type === 'close') { open = false; connecting = false; state.receiving = null; scheduleReconnect(); }
  };

  // sendWatch tells the consumer which host is on screen (null: none): it
  // then sends that host's complete entry with the updates.
  function sendWatch() {
    stream.postMessage({ type: 'watch', host: state.routeHost });
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    retryAt = 0;
    if (open || connecting) return;
    connecting = true;
    setConn('connecting');
    stream.postMessage({ type: 'connect' });
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter: 0.5 s, 1 s, 2 s … capped at 15 s.
    const base = Math.min(15000, 500 * Math.pow(2, attempt));
    attempt++;
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    retryAt = Date.now() + delay;
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
    setConn('disconnected');
    renderConnDetail();
  }

  function retryNow() {
    if (state.conn === 'disconnected') connect();
  }

  function setConn(s) {
    if (state.conn === s && $('conn').textContent === s) return;
    state.conn = s;
    $('conn').textContent = s;
    $('conn').setAttribute('data-state', s);
    $('conn').parentElement.setAttribute('data-state', s);
    document.body.classList.toggle('disconnected', s !== 'connected' && attempt > 0);
    renderConnDetail();
  }

  function renderConnDetail() {
    const banner = $('banner');
    // attempt > 0: the connection failed at least once since the last state.
    if (state.conn === 'connected' || attempt === 0) {
      $('conn-detail').textContent = '';
      banner.hidden = true;
      return;
    }
    const secs = retryAt ? Math.max(0, Math.ceil((retryAt - Date.now()) / 1000)) : 0;
    const when = state.conn === 'connecting' ? 'reconnecting…' : secs > 0 ? 'retrying in ' + secs + ' s' : 'retrying…';
    $('conn-detail').textContent = '· ' + when;
    if (!bannerText) {
      bannerText = document.createTextNode('');
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'retry';
      btn.textContent = 'Retry now';
      btn.addEventListener('click', retryNow);
      banner.append(bannerText, btn);
    }
    bannerText.nodeValue = 'Connection to the consumer lost (' + when +
      '). Figures below are as of the last update and host states are frozen. ';
    banner.hidden = false;
  }
  let bannerText = null;

  // pollDelay asks the consumer how far behind it is (the median delay of
  // the latest snapshots from sampling to receipt). While it lags, the page
  // says so once in the header and ages hosts that much later, rather than
  // turning a healthy fleet stale.
  function pollDelay() {
    if (state.conn !== 'connected') return;
    fetch('api/status', { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : null))
      .then((st) => setDelay(obj(st) ? num(st.delay_seconds) : null))
      .catch(() => { /* the WebSocket's state says what matters */ });
  }

  function setDelay(d) {
    const shown = d != null && d >= DELAY_SHOWN ? d : 0;
    const node = $('delay');
    node.hidden = shown === 0;
    setText(node, shown ? 'updates delayed by ' + Math.round(shown) + ' s' : '');
    if (shown !== state.delay) { state.delay = shown; tick(); }
  }

  // ---------------------------------------------------------------- overview

  const tilesEl = $('tiles');
  const downEl = $('down-tiles');

  const V = window.sysmonViews;

  // hostOfNode: the host whose tile, row or cell holds node.
  function hostOfNode(node) {
    for (let n = node; n && n !== document.body; n = n.parentElement) if (n.__host) return n.__host;
    return null;
  }

  // The host under the pointer and the host with focus keep their place when
  // the overview is re-ranked: the host a user is about to open does not move.
  // The host is looked up where the pointer is at each relayout: tiles laid
  // out under a resting pointer (a re-rank, back from a host's view) get no
  // pointer event, so a host remembered at the last one may be elsewhere.
  let pointerAt = null;
  $('overview').addEventListener('pointermove', (ev) => { pointerAt = [ev.clientX, ev.clientY]; });
  $('overview').addEventListener('pointerleave', () => { pointerAt = null; });
  function pointerHost() {
    const e = pointerAt && document.elementFromPoint(pointerAt[0], pointerAt[1]);
    return e ? hostOfNode(e) : null;
  }

  const elideMiddle = kit.elideMiddle;

  // fleetSuffix is the longest domain (".prod.example.com") that every host
  // name ends with, when there are two hosts or more: tiles leave it out.
  function fleetSuffix() {
    let first = null, n = 0;
    for (const key of state.hosts.keys()) { if (first == null) first = key; n++; }
    if (n < 2) return '';
    for (let i = first.indexOf('.'); i > 0; i = first.indexOf('.', i + 1)) {
      const suf = first.slice(i);
      let all = true;
      for (const key of state.hosts.keys()) if (key.length <= suf.length || !key.endsWith(suf)) { all = false; break; }
      if (all) return suf;
    }
    return '';
  }

  function shortName(key) {
    const s = state.suffix && key.endsWith(state.suffix) ? key.slice(0, key.length - state.suffix.length) : key;
    return elideMiddle(s, 30);
  }

  const hostHref = (h) => '#/host/' + encodeURIComponent(h.key);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // Writes only when the value changed, so an unchanged tile costs no DOM work.
  function setText(node, s) {
    if (node.__t !== s) { node.textContent = s; node.__t = s; }
  }
  function setAttr(node, name, v) {
    const k = '__a_' + name;
    if (node[k] !== v) { node.setAttribute(name, v); node[k] = v; }
  }

  function metricRow(parent, label, metric, withBar) {
    const row = el('div', 'm-row');
    row.append(el('span', 'm-label', label));
    let fill = null;
    if (withBar) {
      const bar = el('span', 'bar');
      fill = el('i');
      bar.append(fill);
      row.append(bar);
    }
    const val = el('span', 'm-val');
    val.setAttribute('data-metric', metric);
    const sub = el('span', 'm-sub');
    row.append(val, sub);
    parent.append(row);
    return { row, fill, val, sub };
  }

  // makeTile builds an empty tile; bindTile gives it a host. Tiles are
  // pooled: one scrolled away shows the next host scrolled in.
  function makeTile() {
    const a = el('a', 'tile');
    const head = el('div', 't-head');
    const dot = el('span', 'dot');
    // Two parts: when the tile is narrower still (a phone), CSS elides the
    // head and keeps the tail, where names differ.
    const name = el('span', 't-name');
    const nameHead = el('span', 't-name-head'), nameTail = el('span', 't-name-tail');
    name.append(nameHead, nameTail);
    const status = el('span', 't-status');
    // Level in words: colour alone says nothing to a colour-blind user.
    const level = el('span', 't-level');
    level.hidden = true;
    head.append(dot, name, level);
    const legacy = el('span', 't-legacy', 'prototype');
    legacy.setAttribute('title', 'Sent by a prototype publisher (old message format)');
    legacy.hidden = true;
    head.append(legacy, status);

    const missing = el('div', 't-missing');
    missing.hidden = true;
    const tags = el('div', 't-tags');
    tags.hidden = true;

    const metrics = el('div', 'metrics');
    const cpu = metricRow(metrics, 'CPU', 'cpu', true);
    const mem = metricRow(metrics, 'Mem', 'mem', true);
    const disk = metricRow(metrics, 'Disk', 'disk', true);
    const load = metricRow(metrics, 'Load', 'load', true);
    const netRow = el('div', 'm-row');
    const net = el('span', 'm-wide');
    const rx = el('span', '');
    rx.setAttribute('data-metric', 'rx');
    const tx = el('span', '');
    tx.setAttribute('data-metric', 'tx');
    net.append(document.createTextNode('↓ '), rx, document.createTextNode('   ↑ '), tx);
    netRow.append(el('span', 'm-label', 'Net'), net);
    metrics.append(netRow);
    const tempRow = el('div', 'm-row');
    const temp = el('span', 'm-wide');
    temp.setAttribute('data-metric', 'temp');
    tempRow.append(el('span', 'm-label', 'Temp'), temp);
    tempRow.hidden = true;
    metrics.append(tempRow);

    const foot = el('div', 't-foot');
    const up = el('span', 't-up');
    const seen = el('span', 't-seen');
    seen.setAttribute('data-metric', 'seen');
    foot.append(up, seen);

    a.append(head, tags, missing, metrics, foot);
    return { el: a, status, legacy, level, missing, tags, tempRow, temp, cpu, mem, disk, load, rx, tx, up, seen, name, nameHead, nameTail };
  }

  const tilePool = [];
  function bindTile(h) {
    if (!h.tile) {
      let t = tilePool.pop();
      if (t) {
        // Out and in again: history.js sees a new tile and draws this
        // host's sparkline, not the last one's.
        t.el.remove();
        const spark = t.el.querySelector('svg.spark');
        if (spark) spark.remove();
      } else {
        t = makeTile();
      }
      h.tile = t;
      t.el.__host = h;
      setAttr(t.el, 'data-host', h.key);
      setAttr(t.el, 'href', hostHref(h));
      setAttr(t.name, 'title', h.key);
      h.tileStale = true;
    }
    if (h.tileStale) renderTile(h);
    return h.tile.el;
  }

  function releaseTile(h) {
    const t = h.tile;
    if (!t) return;
    h.tile = null;
    t.el.__host = null;
    // A tile with focus leaves the page with its host: reused, the focus
    // would silently move to another host.
    if (t.el !== document.activeElement) tilePool.push(t);
  }

  function setRow(r, text, sub, pct, level, title) {
    setText(r.val, text);
    setText(r.sub, sub);
    if (r.fill) {
      // A scale, not a width: it moves without a layout of the tile.
      const w = pct == null ? 0 : Math.max(0, Math.min(100, pct));
      const ws = 'scaleX(' + (w / 100).toFixed(3) + ')';
      if (r.fill.__w !== ws) { r.fill.style.transform = ws; r.fill.__w = ws; }
    }
    setAttr(r.row, 'class', 'm-row m-' + level);
    setAttr(r.row, 'title', title);
  }

  function renderTile(h) {
    const t = h.tile;
    const m = h.m;
    h.tileStale = false;
    setAttr(t.el, 'data-status', h.status);
    setAttr(t.el, 'data-level', h.level);
    setAttr(t.el, 'data-seq', m.seq == null ? '' : String(m.seq));
    setAttr(t.el, 'data-degraded', h.degraded ? 'true' : 'false');
    setText(t.status, h.status);
    t.legacy.hidden = !h.legacy;
    const short = shortName(h.key);
    const cut = short.length > 12 ? short.length - 8 : short.length;
    setText(t.nameHead, short.slice(0, cut));
    setText(t.nameTail, short.slice(cut));
    const lv = h.level === 'crit' ? 'critical' : h.level === 'warn' ? 'warning' : '';
    t.level.hidden = lv === '';
    setText(t.level, lv);
    t.missing.hidden = !h.degraded;
    const miss = h.degraded ? 'degraded · missing ' + m.missing.join(', ') : '';
    setText(t.missing, miss);
    setAttr(t.missing, 'title', h.degraded ? 'The publisher could not read: ' + m.missing.join(', ') : '');

    setRow(t.cpu, fmtPct(m.cpu), m.cores ? m.cores + (m.cores === 1 ? ' core' : ' cores') : '',
      m.cpu, m.lvCpu, 'CPU use');
    let memSub = m.memTotal ? 'of ' + fmtBytes(m.memTotal) : '';
    let memLevel = m.lvMem;
    if (m.swap != null && m.lvSwap !== 'ok') {
      memSub = 'swap ' + fmtPct(m.swap);
      memLevel = worseLevel(memLevel, m.lvSwap);
    }
    setRow(t.mem, fmtPct(m.mem), memSub, m.mem, memLevel,
      'Memory use' + (m.memTotal ? ' of ' + fmtBytes(m.memTotal) : '') + (m.swap != null ? ', swap ' + fmtPct(m.swap) : ''));
    setRow(t.disk, fmtPct(m.disk), elideMiddle(m.diskMount, 16), m.disk, m.lvDisk,
      'Fullest filesystem' + (m.diskMount ? ': ' + m.diskMount : ''));
    const lth = state.config.thresholds.load;
    setRow(t.load, fmtLoad(m.load1), m.loadPerCore != null ? fmtLoad(m.loadPerCore) + '/core' : '',
      m.loadPerCore == null ? null : m.loadPerCore / (lth.crit || 1) * 100, m.lvLoad,
      '1-minute load average' + (m.loadPerCore != null ? ', ' + fmtLoad(m.loadPerCore) + ' per core' : ''));
    setText(t.rx, fmtRate(m.rx));
    setText(t.tx, fmtRate(m.tx));
    renderTileTags(t, m.tags);
    t.tempRow.hidden = m.temp == null;
    // Over a sensor's own mark: in words and shape too, not by colour alone.
    const tempMark = m.lvTemp === 'crit' ? '▲ ' : m.lvTemp === 'warn' ? '◆ ' : '';
    setText(t.temp, m.temp == null ? '' : tempMark + fmtTemp(m.temp) + ' ' + m.tempSensor);
    setAttr(t.tempRow, 'class', 'm-row m-' + m.lvTemp);
    setAttr(t.tempRow, 'title', m.temp == null ? '' : 'Hottest sensor: ' + m.tempSensor +
      (m.lvTemp === 'crit' ? '; a sensor is at or over its critical mark' : m.lvTemp === 'warn' ? '; a sensor is at or over its high mark' : ''));

    if (m.uptime != null) setText(t.up, 'up ' + fmtDuration(m.uptime));
    else setText(t.up, h.figures ? m.platform + ' ' + m.release : '');
    renderSeen(h);
  }

  // renderTileTags shows a host's tags as text chips (the tile is a link:
  // nothing in it may be interactive), rebuilt only when they change.
  function renderTileTags(t, tags) {
    const key = tags.map((kv) => kv.join('=')).join(',');
    if (t.tags.__key === key) return;
    t.tags.__key = key;
    t.tags.hidden = tags.length === 0;
    t.tags.replaceChildren(...tags.map(([k, v]) => el('span', 'tag', k + '=' + v)));
    setAttr(t.tags, 'title', tags.length ? 'Tags: ' + key : '');
  }

  function renderSeen(h) {
    const t = h.tile;
    if (!t) return;
    const s = h.goodbye ? 'said goodbye ' + fmtAgo(serverNow() - h.lastSeen) : 'seen ' + fmtAgo(serverNow() - h.lastSeen);
    setText(t.seen, s);
    setAttr(t.seen, 'title', 'Last snapshot received ' + fmtTime(h.lastSeen - 0 + state.offset));
  }

  const isDown = (h) => h.status === 'offline';

  // problemRank orders what needs a human now: critical, then warning, then
  // degraded (a source missing), then stale. Hosts that are down are apart.
  function problemRank(h) {
    if (h.level === 'crit') return 4;
    if (h.level === 'warn') return 3;
    if (h.degraded) return 2;
    return h.status === 'stale' ? 1 : 0;
  }

  // inCategory tells whether a host is counted by a header count (and so
  // shown when that count is the filter).
  function inCategory(h, c) {
    switch (c) {
      case 'crit': case 'warn': return !isDown(h) && h.level === c;
      case 'degraded': return !isDown(h) && h.degraded;
      case 'live': case 'stale': return h.status === c;
      case 'offline': return isDown(h);
    }
    return true;
  }

  // parseFilter reads the search box: words are parts of the host name,
  // "tag:env=prod" a tag's value (case ignored) and "tag:env" any value of
  // that tag; a host must match every word.
  function parseFilter(q) {
    const out = { names: [], tags: [] };
    for (const w of q.split(/\s+/)) {
      if (w === '') continue;
      const t = /^tag:([^=]*)(?:=(.*))?$/.exec(w);
      if (t) out.tags.push([t[1], t[2] == null ? null : t[2]]);
      else out.names.push(w);
    }
    return out;
  }

  function hasTag(h, key, value) {
    for (const [k, v] of h.m.tags || []) {
      if (k === key && (value == null || v.toLowerCase() === value)) return true;
    }
    return false;
  }

  function matches(h) {
    const f = state.filterParsed;
    for (const w of f.names) if (!h.key.toLowerCase().includes(w)) return false;
    for (const [k, v] of f.tags) if (!hasTag(h, k, v)) return false;
    if (state.problemsOnly && !isDown(h) && problemRank(h) === 0) return false;
    return inCategory(h, state.statusFilter);
  }

  function severity(h) {
    const m = h.m, th = state.config.thresholds;
    const r = (v, t) => (v == null || !t || !t.crit ? 0 : v / t.crit);
    return Math.max(r(m.cpu, th.cpu), r(m.mem, th.memory), r(m.swap, th.swap), r(m.disk, th.disk), r(m.loadPerCore, th.load));
  }

  const byName = (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const desc = (f) => (a, b) => ((f(b) ?? -1) - (f(a) ?? -1)) || byName(a, b);
  const SORTS = {
    name: byName,
    worst: (a, b) => (problemRank(b) - problemRank(a)) || (severity(b) - severity(a)) || byName(a, b),
    seen: (a, b) => (a.lastSeen - b.lastSeen) || byName(a, b), // the longest silent first
    cpu: desc((h) => h.m.cpu),
    mem: desc((h) => h.m.mem),
    disk: desc((h) => h.m.disk),
    load: desc((h) => h.m.loadPerCore ?? h.m.load1),
    net: desc((h) => (h.m.rx == null && h.m.tx == null ? null : (h.m.rx || 0) + (h.m.tx || 0))),
  };

  // The grid: tiles of the rows on screen only (a fleet of 1,000 is 250
  // rows; 61,000 nodes when every tile was in the document).
  function gridMetrics(container) {
    const cs = getComputedStyle(container);
    const gap = parseFloat(cs.rowGap) || 0;
    const cols = container.clientWidth > 0 ? cs.gridTemplateColumns.split(' ').filter((x) => x !== '').length : 1;
    return { cols: Math.max(1, cols), rowH: (parseFloat(cs.gridAutoRows) || 219) + gap };
  }
  function tileWindow(container) {
    return V.windowed(container, {
      metrics: () => gridMetrics(container),
      pad(c, before, after, rowH) {
        c.style.paddingTop = before * rowH + 'px';
        c.style.paddingBottom = after * rowH + 'px';
        return 0;
      },
      // A group's heading (grouped by a tag) is an item as it is.
      bind: (it) => (it.nodeType ? it : bindTile(it)),
      release: (it) => { if (!it.nodeType) releaseTile(it); },
    });
  }

  // fitRows: tiles with more to say (tags, a temperature, a missing source,
  // a sparkline) are taller; the rows grow to the tallest tile drawn.
  function fitRows() {
    tilesEl.classList.toggle('all', !!gridWin.all);
    if (gridWin.all) return;
    let need = 0;
    for (const h of gridWin.shown.concat(downWin.shown)) if (h.tile) need = Math.max(need, h.tile.el.scrollHeight);
    if (need > (parseFloat(getComputedStyle(tilesEl).gridAutoRows) || 0)) {
      for (const c of [tilesEl, downEl]) c.style.gridAutoRows = need + 'px';
      gridWin.set(gridWin.list);
      downWin.set(downWin.list);
    }
  }
  const gridWin = tileWindow(tilesEl);
  const downWin = tileWindow(downEl);

  const viewApi = {
    fmt: { pct: fmtPct, load: fmtLoad, rate: fmtRate, dash: DASH },
    setText, setAttr, shortName, hostHref,
    receiving: () => state.receiving != null, // a state's parts are still coming
    statusOf: (h) => (isDown(h) ? 'offline' : h.level === 'crit' ? 'crit' : h.level === 'warn' ? 'warn' : h.degraded ? 'degraded' : h.status),
    statusWord: (s) => STATUS_WORDS[s] || s,
    seenText: (h) => fmtAgo(serverNow() - h.lastSeen),
    details(h) {
      const m = h.m, s = viewApi.statusOf(h);
      return [h.key, viewApi.statusWord(s) + (h.degraded ? ' · missing ' + m.missing.join(', ') : ''),
        'CPU ' + fmtPct(m.cpu) + ' · mem ' + fmtPct(m.mem) + ' · disk ' + fmtPct(m.disk),
        'load ' + fmtLoad(m.load1) + ' · seen ' + viewApi.seenText(h)];
    },
    sortBy(key) {
      if (state.sort === key) state.reverse = !state.reverse;
      else { state.sort = key; state.reverse = false; }
      $('sort').value = key;
      savePref('sysmon.sort', key);
      layoutDirty = true;
      schedule();
    },
    toggleDown() { $('down').open = !$('down').open; layoutDirty = true; schedule(); },
  };
  const STATUS_WORDS = { crit: 'critical', warn: 'warning', degraded: 'degraded', live: 'live', stale: 'stale', offline: 'offline' };
  const tableView = V.table(viewApi);
  const mapView = V.map(viewApi);
  $('table-view').append(tableView.el);
  $('map-view').append(mapView.el);

  function releaseHost(h) {
    releaseTile(h);
    if (h.row) { h.row.el.remove(); h.row = null; }
    if (h.cell) { h.cell.remove(); h.cell = null; }
  }

  // shownHosts: the hosts whose tile or row is on the page.
  function shownHosts() {
    if (state.mode === 'table') return tableView.shown();
    if (state.mode === 'map') return [];
    return gridWin.shown.concat(downWin.shown);
  }

  // keepPinned puts the host under the pointer and the host with focus back
  // where they were in the last ranking, and ranks the others around them.
  function keepPinned(list) {
    const pinned = [];
    for (const h of [pointerHost(), hostOfNode(document.activeElement)]) {
      if (!h || h.pos < 0 || pinned.some((p) => p.h === h)) continue;
      const at = list.indexOf(h);
      if (at >= 0) { list.splice(at, 1); pinned.push({ h, i: h.pos }); }
    }
    pinned.sort((a, b) => a.i - b.i);
    for (const p of pinned) list.splice(Math.min(p.i, list.length), 0, p.h);
  }

  // Grouping by a tag: a heading per value of the tag (hosts without it
  // last), the sort inside each. Headings are kept per value so that a
  // regroup moves nodes rather than making them. Grouped, the grid has
  // every tile of the fleet in the document (its rows are not of one
  // height); the table and the map stay as they are.
  const groupHeads = new Map();
  let hostsChangedTags = true; // the group menu lists the fleet's tag keys

  function tagValue(h, key) {
    for (const [k, v] of h.m.tags || []) if (k === key) return v;
    return null;
  }

  function grouped(list) {
    const groups = new Map();
    for (const h of list) {
      const v = tagValue(h, state.group);
      if (!groups.has(v)) groups.set(v, []);
      groups.get(v).push(h);
    }
    const values = [...groups.keys()].sort((a, b) => (a === null) - (b === null) || (a < b ? -1 : a > b ? 1 : 0));
    const out = [];
    const heads = new Set();
    for (const v of values) {
      const name = v === null ? 'no ' + state.group : state.group + '=' + v;
      let head = groupHeads.get(name);
      if (!head) { head = el('h2', 'group-head'); groupHeads.set(name, head); }
      heads.add(name);
      setText(head, name + ' (' + groups.get(v).length + ')');
      const members = groups.get(v);
      // The tiles under the pointer and in focus stay where they are in
      // their group.
      keepPinned(members);
      for (let i = 0; i < members.length; i++) members[i].pos = i;
      out.push(head, ...members);
    }
    for (const name of [...groupHeads.keys()]) if (!heads.has(name)) groupHeads.delete(name);
    return out;
  }

  // renderGroupOptions lists "No grouping" and the fleet's tag keys; a
  // chosen key stays listed while no host has it (hosts not yet arrived).
  function renderGroupOptions() {
    hostsChangedTags = false;
    const keys = new Set();
    for (const h of state.hosts.values()) for (const [k] of h.m.tags || []) keys.add(k);
    if (state.group) keys.add(state.group);
    const sorted = [...keys].sort();
    const sel = $('group');
    const now = [...sel.options].slice(1).map((o) => o.value);
    if (now.join('\n') !== sorted.join('\n')) {
      const opts = sorted.map((k) => { const o = el('option', '', 'Tag: ' + k); o.value = k; return o; });
      sel.replaceChildren(sel.options[0], ...opts);
    }
    sel.value = state.group;
    $('group-wrap').hidden = sorted.length === 0;
  }

  // setMode shows one view of the overview and empties the others.
  function setMode(mode) {
    if (!['grid', 'table', 'map'].includes(mode)) mode = 'grid';
    if (mode !== state.mode) {
      if (state.mode === 'grid') { gridWin.set([]); downWin.set([]); }
      if (state.mode === 'table') tableView.clear();
      if (state.mode === 'map') mapView.clear();
      state.mode = mode;
      savePref('sysmon.view', mode);
      window.scrollTo(0, 0);
    }
    tilesEl.hidden = mode !== 'grid';
    $('table-view').hidden = mode !== 'table';
    $('map-view').hidden = mode !== 'map';
    for (const a of document.querySelectorAll('#views a[data-view]')) {
      if (a.getAttribute('data-view') === mode) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    layoutDirty = true;
  }

  // revealHost brings h's tile, row or cell on screen and returns what
  // takes the focus.
  function revealHost(h) {
    if (isDown(h) && !$('down').open) { $('down').open = true; relayout(); }
    if (state.mode === 'table') return tableView.reveal(h);
    if (state.mode === 'map') return mapView.reveal(h);
    const win = isDown(h) ? downWin : gridWin;
    if (!h.tile) {
      const y = win.offsetOf(h);
      if (y == null) return null;
      window.scrollTo(0, Math.max(0, y - window.innerHeight / 3));
      win.update(true);
    }
    return h.tile ? h.tile.el : null;
  }

  let scrollDirty = false;
  window.addEventListener('scroll', () => {
    if (state.view === 'overview' && state.mode !== 'map') { scrollDirty = true; scrolledAt = performance.now(); schedule(); }
  }, { passive: true });
  window.addEventListener('resize', () => {
    gridWin.invalidate(); downWin.invalidate(); tableView.invalidate();
    if (state.mode === 'map') mapView.fit();
    scrollDirty = true;
    schedule();
  });
  $('down').addEventListener('toggle', () => { layoutDirty = true; schedule(); });

  // A ranking reads the metrics as they are now, at a user's sort change or
  // at most every RESORT_MS. Every other relayout (a status change, a
  // filter, a host going down) keeps the last ranking's order: a tile moves
  // at once when its own status changes, and no other tile moves with it.
  let lastRank = 0;
  let rankDue = true;
  let rankedBy = ''; // the sort (and direction) of the last ranking
  let hostsChanged = true; // the suffix common to the fleet may have changed
  let fleetChanged = true; // hosts came or went since the last ranking
  let ranked = []; // every host, in the order of the last ranking

  // relayout puts the tiles of the hosts that pass the filter in sorted order and
  // takes every other tile out of the document, so hidden hosts cost nothing.
  // Hosts that are down go to their own group, collapsed, newest first.
  function relayout() {
    laidAt = performance.now();
    layoutDirty = false;
    const by = state.sort + (state.reverse ? ' reversed' : '');
    // By name, the order changes only with the fleet: a relayout (a host
    // changing status) does not sort 10,000 names again.
    if (rankDue || by !== rankedBy || (state.sort === 'name' && fleetChanged)) {
      rankDue = false;
      fleetChanged = false;
      rankedBy = by;
      metricsChangedSinceSort = false;
      lastRank = Date.now();
      // Every host, shown or not: one that comes back from a filter or
      // from the Down group has its place.
      ranked = [...state.hosts.values()].sort(SORTS[state.sort] || byName);
      for (let i = 0; i < ranked.length; i++) ranked[i].rank = i;
    }
    if (hostsChanged) {
      hostsChanged = false;
      const suffix = fleetSuffix();
      if (suffix !== state.suffix) {
        state.suffix = suffix;
        for (const h of state.hosts.values()) markDirty(h);
      }
    }
    // The hosts in the last ranking's order (no sort here), then the hosts
    // newer than it, by name, until the next one; worst first, the ranks
    // of problem (problemRank) come first, the order kept in each.
    const worst = state.sort === 'worst';
    const byRank = worst ? [[], [], [], [], []] : [[]];
    const newer = [], down = [];
    const place = (h) => {
      const show = matches(h);
      if (show && !h.shown) h.tileStale = true;
      h.shown = show;
      if (show) { if (isDown(h)) down.push(h); else byRank[worst ? 4 - problemRank(h) : 0].push(h); }
      // Hosts in the grid keep their last place until keepPinned has read
      // it; every one of them gets a new one below.
      if (!show || isDown(h)) h.pos = -1;
    };
    for (const h of ranked) if (state.hosts.get(h.key) === h) place(h);
    if (ranked.length !== state.hosts.size || fleetChanged) {
      for (const h of state.hosts.values()) if (!(ranked[h.rank] === h)) newer.push(h);
      newer.sort(byName);
      for (const h of newer) place(h);
    }
    const list = byRank.length === 1 ? byRank[0] : [].concat(...byRank);
    if (state.reverse) list.reverse();
    if (hostsChangedTags) renderGroupOptions();
    const grouping = state.group && state.mode === 'grid';
    const grid = grouping ? grouped(list) : list;
    if (!grouping) {
      keepPinned(list);
      for (let i = 0; i < list.length; i++) list[i].pos = i;
    }
    down.sort((a, b) => (b.lastSeen - a.lastSeen) || byName(a, b));
    // Moving a focused node in the document blurs it: focus stays where it was.
    const focused = hostOfNode(document.activeElement) ? document.activeElement : null;
    if (state.mode === 'grid') {
      gridWin.all = grouping;
      gridWin.set(grid);
      downWin.set(down);
      fitRows();
    } else if (state.mode === 'table') {
      tableView.set(list, down, $('down').open, state.sort, state.reverse);
    } else {
      mapView.set(list, down);
    }
    if (focused && focused.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
    $('down').hidden = down.length === 0 || state.mode !== 'grid';
    setText($('down-count'), String(down.length));

    const total = state.hosts.size;
    const empty = $('empty');
    if (total === 0) {
      empty.textContent = state.conn === 'connected'
        ? 'No host has reported yet. Tiles appear here as soon as a publisher sends its first snapshot.'
        : 'Waiting for the consumer…';
      empty.hidden = false;
    } else if (list.length + down.length === 0) {
      empty.textContent = state.problemsOnly && !state.filter && !state.statusFilter
        ? 'No problems: every host is live and under its thresholds.'
        : state.filter ? 'No host matches “' + state.filter + '”' + (state.problemsOnly || state.statusFilter ? ' with that status.' : '.')
          : 'No host has that status now.';
      empty.hidden = false;
    } else {
      empty.hidden = true;
    }
    const n = list.length + down.length;
    const parts = [];
    const r = state.receiving;
    if (r) parts.push('receiving the fleet: ' + r.keep.size + ' of ' + Math.max(r.keep.size, r.total) + ' hosts');
    if (n !== total) parts.push('showing ' + n + ' of ' + total);
    if (state.suffix) parts.push('names without ' + elideMiddle(state.suffix, 40));
    $('shown').textContent = parts.join(' · ');
  }

  const COUNTS = ['crit', 'warn', 'degraded', 'live', 'stale', 'offline'];
  function renderCounts() {
    const n = { crit: 0, warn: 0, degraded: 0, live: 0, stale: 0, offline: 0 };
    // One pass of what inCategory says, per frame at 10,000 hosts.
    for (const h of state.hosts.values()) {
      if (h.status === 'offline') { n.offline++; continue; }
      n[h.status === 'stale' ? 'stale' : 'live']++;
      if (h.level !== 'ok') n[h.level]++;
      if (h.degraded) n.degraded++;
    }
    setText($('count-hosts'), String(state.hosts.size));
    for (const c of COUNTS) {
      setText($('count-' + c), String(n[c]));
      // The problem counts show only when there is something to count.
      if (c === 'crit' || c === 'warn' || c === 'degraded') $('count-' + c).parentElement.hidden = n[c] === 0 && state.statusFilter !== c;
    }
  }

  // A header count is a filter: "3 critical" shows those three; clicked
  // again (or "hosts"), everything.
  function setStatusFilter(c) {
    state.statusFilter = state.statusFilter === c ? '' : c;
    for (const b of $('counts').querySelectorAll('button[data-filter]')) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-filter') === state.statusFilter && state.statusFilter !== ''));
    }
    if (state.statusFilter === 'offline') $('down').open = true;
    if (location.hash && location.hash !== '#/') location.hash = '#/'; // from a host or the alerts
    layoutDirty = true;
    schedule();
  }

  function renderThresholds() {
    const th = state.config.thresholds;
    const p = (t) => t.warn + '/' + t.crit + '%';
    $('thresholds').textContent = 'CPU ' + p(th.cpu) + ' · memory ' + p(th.memory) + ' · swap ' + p(th.swap) +
      ' · disk ' + p(th.disk) + ' · load ' + th.load.warn + '/' + th.load.crit + ' per core (warning/critical)';
  }

  // ---------------------------------------------------------------- frame loop

  let frameQueued = false;
  function schedule() {
    if (!frameQueued) { frameQueued = true; requestAnimationFrame(frame); }
  }

  // While a state comes in parts, the overview is laid out (every host
  // ranked, the screen drawn) at most twice a second: the first part at
  // once, the whole state when its last part is in. Laid out after each of
  // the ten parts of 10,000 hosts, the map's first render took 3.1 s (a
  // cell for every host, moved by every part), the grid's 0.9 to 1.6 s.
  let laidAt = -Infinity;
  function layoutWaits() {
    if (!state.receiving) return false;
    const wait = laidAt + 500 - performance.now();
    if (wait <= 0) return false;
    setTimeout(schedule, wait);
    return true;
  }

  // While the page scrolls, the new figures of the tiles and rows drawn wait
  // for the next move of the window (a frame that draws anyway) or for
  // HOLD_MS at most, and are drawn at once when the scrolling stops. Drawn
  // as they came (four times a second at 10,000 hosts), each update laid out
  // and repainted the list in a frame of its own, between the window's
  // moves: frames dropped from the scroll.
  const HOLD_MS = 1000;
  const SCROLL_QUIET_MS = 150;
  let scrolledAt = -Infinity;
  let drawnAt = 0;
  let holdTimer = 0;
  let countsDirty = true;
  function frame() {
    frameQueued = false;
    // The counts go through every host: only when one changed.
    if (dirty.size > 0 || layoutDirty) countsDirty = true;
    if (state.view === 'overview') {
      let moved = false;
      if (layoutDirty && layoutWaits()) { /* the next part, or the timer */ } else if (layoutDirty) { relayout(); moved = true; }
      // Scrolling uses the measures of the last layout (or resize): measuring
      // at every frame forced a layout each time (10 frames/s at 10,000 hosts).
      else if (scrollDirty) moved = gridWin.update(false) | downWin.update(false) | tableView.update(); // each one: | not ||
      scrollDirty = false;
      const now = performance.now();
      if (!moved && dirty.size > 0 && now - scrolledAt < SCROLL_QUIET_MS && now - drawnAt < HOLD_MS) {
        if (!holdTimer) holdTimer = setTimeout(() => { holdTimer = 0; schedule(); }, SCROLL_QUIET_MS);
        return; // the counts wait with the tiles: they say the same
      }
      drawnAt = now;
      // Hosts that are filtered out or scrolled away have no tile: they keep
      // tileStale and are drawn when they are shown again.
      for (const h of dirty) {
        if (h.tile && h.tileStale) renderTile(h);
        if (h.row) tableView.render(h);
        if (state.mode === 'map') mapView.render(h); // its cell, or its shape only while the cells come in
      }
      dirty.clear();
    } else if (hostViewDirty) {
      renderHostView();
    }
    if (countsDirty) { countsDirty = false; renderCounts(); }
  }

  // tick runs once a second: ages hosts into stale/offline, refreshes relative
  // times on the visible tiles, and re-sorts when a metric sort is active.
  function tick() {
    if (state.conn === 'connected') {
      for (const h of state.hosts.values()) {
        const s = computeStatus(h);
        if (s !== h.status) {
          const was = h.status;
          h.status = s;
          markDirty(h);
          if (moves(h, was, h.level, h.degraded)) layoutDirty = true; // not a re-rank: at once
          if (state.routeHost === h.key) hostViewDirty = true;
        }
      }
    }
    if (state.view === 'overview') {
      for (const h of shownHosts()) { if (h.tile) renderSeen(h); if (h.row) tableView.renderSeen(h); }
      if (state.sort !== 'name' && metricsChangedSinceSort && Date.now() - lastRank >= RESORT_MS) { rankDue = true; layoutDirty = true; }
    } else {
      renderHostSeen();
    }
    if (state.conn === 'disconnected') renderConnDetail();
    schedule();
  }

  // ---------------------------------------------------------------- host view

  let charts = []; // {spec, card, plotEl, u, sig}
  let chartsNeedRebuild = true;
  let chartsHost = null;

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function palette() {
    return ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6', '--c7', '--c8'].map(cssVar);
  }

  function withAlpha(color, a) {
    const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    if (!m) return color;
    return 'rgba(' + parseInt(m[1], 16) + ',' + parseInt(m[2], 16) + ',' + parseInt(m[3], 16) + ',' + a + ')';
  }

  const pctOf = (p, k) => (obj(p) ? num(p[k]) : null);

  const CHART_SPECS = [
    { id: 'cpu', title: 'CPU', unit: 'pct', th: () => state.config.thresholds.cpu, series: () => [{ label: 'Total', get: (p) => pctOf(p, 'cpu'), fill: true }] },
    {
      id: 'cores', title: 'CPU per core', unit: 'pct', th: () => state.config.thresholds.cpu, series: (h) => {
        let n = 0;
        for (const p of h.history) if (Array.isArray(p.cores)) n = Math.max(n, p.cores.length);
        const core = (p, i) => (Array.isArray(p.cores) ? num(p.cores[i]) : null);
        const out = [];
        if (n <= kit.CORE_LINES) {
          for (let i = 0; i < n; i++) out.push({ label: 'core ' + i, get: (p) => core(p, i) });
          return out;
        }
        // Many cores: their band and the busiest few (chartkit.js).
        const cols = [];
        for (let i = 0; i < n; i++) cols.push(h.history.map((p) => core(p, i)));
        const sm = kit.coreSummary(cols, kit.BUSIEST);
        out.push({ label: 'max', get: (p, k) => sm.max[k], band: 'hi' },
          { label: 'mean of ' + n, get: (p, k) => sm.mean[k], bold: true },
          { label: 'min', get: (p, k) => sm.min[k], band: 'lo' });
        for (const j of sm.top) out.push({ label: 'core ' + j, get: (p, k) => cols[j][k] });
        out.note = n + ' cores: the band spans min to max, the line is the mean, with the ' + sm.top.length + ' busiest cores.';
        return out;
      },
    },
    {
      id: 'mem', title: 'Memory and swap', unit: 'pct', th: () => state.config.thresholds.memory, series: () => [
        { label: 'Memory', get: (p) => pctOf(p, 'mem'), fill: true },
        { label: 'Swap', get: (p) => pctOf(p, 'swap') },
      ],
    },
    {
      id: 'fs', title: 'Filesystems', unit: 'pct', th: () => state.config.thresholds.disk, series: (h) => {
        // The fullest first (latest value), FS_SHOWN of them until the user asks for all.
        const latest = new Map();
        for (const p of h.history) if (obj(p.fs)) for (const k of Object.keys(p.fs)) latest.set(k, num(p.fs[k]) ?? latest.get(k) ?? null);
        const mounts = [...latest.keys()].sort((a, b) => (latest.get(b) ?? -1) - (latest.get(a) ?? -1) || (a < b ? -1 : a > b ? 1 : 0));
        const shown = fsChartAll ? mounts : mounts.slice(0, FS_SHOWN);
        const out = shown.map((mp) => ({ label: elideMiddle(mp, 28), full: mp, get: (p) => (obj(p.fs) ? num(p.fs[mp]) : null) }));
        out.more = mounts.length - FS_SHOWN;
        return out;
      },
    },
    {
      id: 'diskio', title: 'Disk I/O', unit: 'rate', series: () => [
        { label: 'Read', get: (p) => pctOf(p, 'rd') },
        { label: 'Write', get: (p) => pctOf(p, 'wr') },
      ],
    },
    {
      id: 'net', title: 'Network', unit: 'rate', series: () => [
        { label: 'In', get: (p) => pctOf(p, 'rx'), fill: true },
        { label: 'Out', get: (p) => pctOf(p, 'tx') },
      ],
    },
    {
      id: 'load', title: 'Load average', unit: 'load', th: (h) => {
        // Load thresholds are per core.
        const t = state.config.thresholds.load, n = h.m.cores;
        return n ? { warn: t.warn * n, crit: t.crit * n } : null;
      }, series: () => [
        { label: '1 min', get: (p) => pctOf(p, 'load1') },
        { label: '5 min', get: (p) => pctOf(p, 'load5') },
        { label: '15 min', get: (p) => pctOf(p, 'load15') },
      ],
    },
  ];

  function unitFmt(unit) {
    if (unit === 'pct') return (v) => (v == null ? DASH : v.toFixed(1) + '%');
    if (unit === 'rate') return fmtRate;
    return fmtLoad;
  }

  // Charts and the table show this many file systems, the fullest, until
  // the user asks for all ("+24 more").
  const FS_SHOWN = 6, FS_ROWS = 8;
  let fsChartAll = false, fsTableAll = false, fsHost = null; // "+N more" holds for one host

  function buildData(h, series) {
    const hist = h.history;
    const xs = new Array(hist.length);
    const cols = series.map(() => new Array(hist.length));
    let points = 0;
    for (let i = 0; i < hist.length; i++) {
      const p = hist[i];
      xs[i] = (num(p.t) ?? 0) / 1000;
      let any = false;
      for (let j = 0; j < series.length; j++) {
        const v = series[j].get(p, i);
        cols[j][i] = v;
        if (v != null) any = true;
      }
      if (any) points++;
    }
    return { data: [xs, ...cols], points };
  }

  function lastValue(col) {
    if (!col) return null;
    for (let i = col.length - 1; i >= 0; i--) if (col[i] != null) return col[i];
    return null;
  }

  // thresholdLines draws the warning and critical levels as dashed lines.
  function thresholdLines(th) {
    const warn = cssVar('--warn'), crit = cssVar('--crit');
    return (u) => {
      if (!th) return;
      const ctx = u.ctx, dpr = uPlot.pxRatio || 1, { left, top, width, height } = u.bbox;
      ctx.save();
      ctx.lineWidth = dpr;
      ctx.setLineDash([5 * dpr, 4 * dpr]);
      for (const [v, color] of [[th.warn, warn], [th.crit, crit]]) {
        if (num(v) == null) continue;
        const y = Math.round(u.valToPos(v, 'y', true)) + 0.5;
        if (y < top || y > top + height) continue;
        ctx.strokeStyle = color;
        ctx.globalAlpha = 0.7;
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
      }
      ctx.restore();
    };
  }

  function makePlot(h, spec, series, plotEl, data, th) {
    const colors = palette();
    const muted = cssVar('--muted');
    const grid = cssVar('--grid');
    const fmt = unitFmt(spec.unit);
    const many = series.length > 8;
    const hi = series.findIndex((s) => s.band === 'hi'), lo = series.findIndex((s) => s.band === 'lo');
    // A band's edges are faint; the lines after it take the next colours.
    const banded = hi >= 0 && lo >= 0;
    const colorOf = (i) => colors[(banded ? Math.max(0, i - 2) : i) % colors.length];
    const axis = {
      stroke: muted,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
      font: '11px system-ui, sans-serif',
    };
    const yRange = spec.unit === 'pct'
      ? [0, 100]
      : (u, min, max) => [0, max > 0 ? max * 1.15 : 1];
    const opts = {
      width: Math.max(200, plotEl.clientWidth),
      height: 200,
      // Hovering one of the host's charts shows the same instant on all.
      cursor: { drag: { x: true, y: false }, points: { size: 6 }, sync: { key: kit.syncKey(h.key), setSeries: false } },
      // The legend is what hovering reads out: it stays however many series.
      legend: { show: true, live: true },
      bands: banded ? [{ series: [hi + 1, lo + 1], fill: withAlpha(colors[0], 0.2) }] : [],
      hooks: { draw: [thresholdLines(th)] },
      scales: { x: { time: true, range: kit.xRange(Math.max(60, 10 * (h.interval || 1))) }, y: { range: yRange } },
      axes: [
        kit.timeAxis(axis),
        Object.assign({}, axis, {
          size: spec.unit === 'rate' ? 72 : 48,
          values: (u, vals) => vals.map((v) => (spec.unit === 'pct' ? v + '%' : fmt(v))),
        }),
      ],
      series: [
        { value: (u, v, si, idx) => (idx == null ? 'latest' : v == null ? DASH : fmtTime(v * 1000)) },
        ...series.map((s, i) => {
          const c = s.band ? withAlpha(colors[0], 0.5) : colorOf(i);
          return {
            label: s.label,
            stroke: c,
            width: s.fill || s.bold ? 2 : s.band ? 1 : many ? 1 : 1.5,
            fill: s.fill ? withAlpha(c, 0.14) : undefined,
            points: { show: false },
            spanGaps: false,
            // Without a cursor the legend shows the latest value.
            value: (u, v, si, idx) => fmt(idx == null ? lastValue(u.data[si]) : v),
          };
        }),
      ],
    };
    // eslint-disable-next-line no-undef
    const u = new uPlot(opts, data, plotEl);
    kit.labelTitles(u, [null, ...series.map((s) => s.full)]);
    return u;
  }

  function destroyCharts() {
    for (const c of charts) if (c.u) c.u.destroy();
    charts = [];
    $('charts').replaceChildren();
    chartsHost = null;
  }

  function renderCharts(h) {
    const root = $('charts');
    if (chartsNeedRebuild || chartsHost !== h.key || charts.length === 0) {
      destroyCharts();
      chartsHost = h.key;
      chartsNeedRebuild = false;
      for (const spec of CHART_SPECS) {
        const card = el('div', 'card chart');
        card.setAttribute('data-chart', spec.id);
        card.append(el('h2', '', spec.title));
        const note = el('p', 'chart-note');
        note.hidden = true;
        const plotEl = el('div', 'plot');
        card.append(note, plotEl);
        let more = null;
        if (spec.id === 'fs') {
          more = el('button', 'more');
          more.type = 'button';
          more.hidden = true;
          more.addEventListener('click', () => { fsChartAll = !fsChartAll; hostViewDirty = true; schedule(); });
          card.append(more);
        }
        root.append(card);
        charts.push({ spec, card, note, plotEl, more, u: null, sig: '' });
      }
    }
    for (const c of charts) {
      const series = c.spec.series(h);
      const { data, points } = buildData(h, series);
      const sig = series.map((s) => s.label).join('\u0000') + '|' + (points > 0);
      c.card.setAttribute('data-points', String(points));
      c.card.setAttribute('data-series', String(series.length));
      setText(c.note, series.note || '');
      c.note.hidden = !series.note;
      if (c.more) moreButton(c.more, series.more, fsChartAll, 'file systems');
      if (sig !== c.sig || !c.u && points > 0) {
        if (c.u) { c.u.destroy(); c.u = null; }
        c.plotEl.replaceChildren();
        c.sig = sig;
        if (points > 0 && series.length > 0) {
          c.u = makePlot(h, c.spec, series, c.plotEl, data, c.spec.th ? c.spec.th(h) : null);
        } else {
          c.plotEl.append(el('div', 'nodata', h.legacy
            ? 'Not sent by prototype-format publishers.'
            : 'No data in the history yet.'));
        }
      } else if (c.u) {
        c.u.setData(data);
      }
    }
  }

  const ro = 'ResizeObserver' in window ? new ResizeObserver(() => {
    for (const c of charts) if (c.u) {
      const w = Math.max(200, c.plotEl.clientWidth);
      if (Math.abs(c.u.width - w) > 1) c.u.setSize({ width: w, height: 200 });
    }
  }) : null;
  if (ro) ro.observe($('charts'));

  function fact(dl, label, value, title) {
    const d = el('div');
    const dd = el('dd', '', value == null || value === '' ? DASH : String(value));
    if (title) dd.setAttribute('title', title);
    d.append(el('dt', '', label), dd);
    dl.append(d);
  }

  function renderFacts(h) {
    const m = h.m;
    const dl = $('hv-facts');
    const frag = document.createDocumentFragment();
    fact(frag, 'Platform', m.platform);
    fact(frag, 'Kernel', m.release);
    fact(frag, 'Processor', m.processor || (h.figures ? '(not reported)' : ''));
    fact(frag, 'Cores', m.cores);
    fact(frag, 'Memory', m.memTotal != null ? fmtBytes(m.memTotal) : '');
    fact(frag, 'Swap', m.swapTotal != null ? (m.swapTotal === 0 ? 'none' : fmtBytes(m.swapTotal)) : '');
    fact(frag, 'Uptime', m.uptime != null ? fmtDuration(m.uptime) : '');
    fact(frag, 'Disk IOPS', m.rdOps != null || m.wrOps != null ? fmtOps(m.rdOps) + ' read · ' + fmtOps(m.wrOps) + ' write' : '');
    fact(frag, 'Load (1/5/15)', m.load1 != null ? [m.load1, m.load5, m.load15].map(fmtLoad).join(' / ') : '');
    fact(frag, 'Interval', h.interval ? h.interval + ' s' : '');
    fact(frag, 'Agent', m.agent || (h.legacy ? 'prototype' : ''));
    fact(frag, 'Sequence', m.seq);
    fact(frag, 'Host ID', h.hostId);
    // A time with its zone is the snapshot's own; the prototype's timestamp
    // (no zone) is shown as sent.
    const sampled = /(?:Z|[+-]\d\d:\d\d)$/.test(m.sampledAt) ? Date.parse(m.sampledAt) : NaN;
    fact(frag, 'Sampled at', Number.isFinite(sampled) ? fmtTime(sampled) : m.sampledAt, m.sampledAt);
    dl.replaceChildren(frag);
  }

  function levelClass(v, th) {
    const l = levelOf(v, th);
    return l === 'ok' ? 'num' : 'num m-' + l;
  }

  // moreButton shows "+N more" (or "Show fewer") when n items are left out.
  function moreButton(btn, n, all, what) {
    btn.hidden = !(n > 0);
    setText(btn, all ? 'Show fewer' : '+' + n + ' more');
    setAttr(btn, 'aria-expanded', String(all));
    setAttr(btn, 'aria-label', all ? 'Show fewer ' + what : '+' + n + ' more ' + what);
  }

  // cellElided shows s elided in the middle, the whole of it on hover.
  function cellElided(s, max) {
    const td = el('td', 'nowrap', elideMiddle(s, max));
    if (s.length > max) td.setAttribute('title', s);
    return td;
  }

  function renderTables(h) {
    const fsBody = $('hv-fs').tBodies[0];
    const rows = [];
    // The fullest first; FS_ROWS of them until the user asks for all.
    const fss = h.m.fs.slice().sort((a, b) => (num(b.percent) ?? -1) - (num(a.percent) ?? -1) ||
      (str(a.mountpoint) < str(b.mountpoint) ? -1 : str(a.mountpoint) > str(b.mountpoint) ? 1 : 0));
    moreButton($('hv-fs-more'), fss.length - FS_ROWS, fsTableAll, 'file systems');
    for (const fs of fsTableAll ? fss : fss.slice(0, FS_ROWS)) {
      const tr = el('tr');
      const pct = num(fs.percent);
      tr.append(cellElided(str(fs.mountpoint), 32), cellElided(str(fs.device), 24), el('td', 'nowrap', str(fs.fstype)),
        el('td', 'num', fmtBytes(num(fs.used))), el('td', 'num', fmtBytes(num(fs.total))),
        el('td', levelClass(pct, state.config.thresholds.disk), fmtPct(pct)));
      rows.push(tr);
    }
    if (rows.length === 0) {
      const tr = el('tr');
      const td = el('td', '', h.m.listsKnown ? 'None reported.' : '');
      td.colSpan = 6;
      tr.append(td);
      rows.push(tr);
    }
    fsBody.replaceChildren(...rows);

    const ifBody = $('hv-if').tBodies[0];
    const irows = [];
    for (const it of h.m.net) {
      const tr = el('tr');
      tr.append(el('td', '', str(it.name)), el('td', 'num', fmtRate(num(it.rx))), el('td', 'num', fmtRate(num(it.tx))));
      irows.push(tr);
    }
    if (irows.length === 0) {
      const tr = el('tr');
      const td = el('td', '', !h.m.listsKnown ? '' : h.legacy ? 'Not sent by prototype-format publishers.' : 'None reported.');
      td.colSpan = 3;
      tr.append(td);
      irows.push(tr);
    }
    ifBody.replaceChildren(...irows);

    // Temperatures: a host without sensors (most VMs) has no card at all.
    $('hv-temps-card').hidden = h.m.temps.length === 0;
    const trows = [];
    // Hottest first: the one to look at.
    const temps = h.m.temps.slice().sort((a, b) => (num(b.celsius) ?? -Infinity) - (num(a.celsius) ?? -Infinity));
    for (const s of temps) {
      const c = num(s.celsius), hi = num(s.high), cr = num(s.critical);
      const lv = c != null && cr != null && c >= cr ? 'crit' : c != null && hi != null && c >= hi ? 'warn' : 'ok';
      const tr = el('tr');
      // The level in words too: colour alone says nothing to some users.
      tr.append(el('td', '', str(s.sensor)),
        el('td', lv === 'ok' ? 'num' : 'num m-' + lv, fmtTemp(c) + (lv === 'crit' ? ' ▲ critical' : lv === 'warn' ? ' ◆ high' : '')),
        el('td', 'num', hi == null ? DASH : fmtTemp(hi)), el('td', 'num', cr == null ? DASH : fmtTemp(cr)));
      trows.push(tr);
    }
    $('hv-temps').tBodies[0].replaceChildren(...trows);
  }

  // renderHostTags shows the host's tags as buttons that filter the
  // overview by that tag.
  function renderHostTags(h) {
    const box = $('hv-tags');
    const key = h.m.tags.map((kv) => kv.join('=')).join(',');
    if (box.__key === key) return;
    box.__key = key;
    box.hidden = h.m.tags.length === 0;
    box.replaceChildren(...h.m.tags.map(([k, v]) => {
      const b = el('button', 'tag', k + '=' + v);
      b.type = 'button';
      b.title = 'Show the hosts tagged ' + k + '=' + v;
      b.addEventListener('click', () => { setFilter('tag:' + k + '=' + v); location.hash = '#/'; });
      return b;
    }));
  }

  let rawShown = null;
  function renderHostView() {
    hostViewDirty = false;
    const key = state.routeHost;
    const h = key != null ? state.hosts.get(key) : null;
    $('hv-name').textContent = key == null ? '' : key;
    document.title = (key == null ? '' : key + ' · ') + 'sysmon';
    if (!h) {
      destroyCharts();
      $('hv-body').hidden = true;
      $('hv-status').hidden = true;
      $('hv-legacy').hidden = true;
      $('hv-seen').textContent = '';
      $('hv-tags').hidden = true;
      $('hv-tags').__key = null;
      const miss = $('hv-missing');
      miss.textContent = state.conn === 'connected'
        ? 'The consumer has no data for this host. It appears here as soon as its publisher sends a snapshot.'
        : 'Waiting for the consumer…';
      miss.hidden = false;
      return;
    }
    $('hv-missing').hidden = true;
    $('hv-body').hidden = false;
    const st = $('hv-status');
    st.hidden = false;
    st.textContent = h.status;
    st.setAttribute('data-status', h.status);
    $('hv-legacy').hidden = !h.legacy;
    const deg = $('hv-degraded');
    deg.hidden = !h.degraded;
    setText(deg, h.degraded ? 'degraded · missing ' + h.m.missing.join(', ') : '');
    setAttr(deg, 'title', h.degraded ? 'The publisher could not read these sources for its last snapshot: ' + h.m.missing.join(', ') : '');
    if (fsHost !== h.key) { fsHost = h.key; fsChartAll = false; fsTableAll = false; }
    renderHostSeen();
    renderFacts(h);
    renderHostTags(h);
    renderTables(h);
    renderRaw(h);
    renderCharts(h);
  }

  // rawSelected tells whether the user has selected text in the JSON panel:
  // it is not redrawn meanwhile, or the selection would vanish.
  function rawSelected() {
    const sel = document.getSelection();
    if (!sel || sel.isCollapsed || sel.rangeCount === 0) return false;
    const raw = $('raw');
    return raw.contains(sel.anchorNode) || raw.contains(sel.focusNode);
  }

  function renderRaw(h) {
    if (rawShown === h.snapshot) return;
    const paused = rawSelected();
    $('raw-paused').hidden = !paused;
    if (paused) return;
    rawShown = h.snapshot;
    $('raw').textContent = h.snapshot ? JSON.stringify(h.snapshot, null, 2) : '';
  }

  function renderHostSeen() {
    const h = state.routeHost != null ? state.hosts.get(state.routeHost) : null;
    if (!h) return;
    const txt = (h.goodbye ? 'said goodbye ' : 'last seen ') + fmtAgo(serverNow() - h.lastSeen);
    setText($('hv-seen'), txt);
    setAttr($('hv-seen'), 'title', fmtTime(h.lastSeen + state.offset));
    const st = $('hv-status');
    if (st.textContent !== h.status) { st.textContent = h.status; st.setAttribute('data-status', h.status); }
  }

  // ---------------------------------------------------------------- history

  function dropHistory(key) {
    const h = state.hosts.get(key);
    if (!h) return;
    h.historyFull = false;
    h.historyLoading = false;
    h.history = h.history.slice(-1);
  }

  // loadHistory fetches the history the consumer keeps for one host and merges
  // the points that arrived over the WebSocket meanwhile.
  function loadHistory(key) {
    const h = state.hosts.get(key);
    if (!h || h.historyFull || h.historyLoading) return;
    h.historyLoading = true;
    // A query parameter, not a path segment: a host named "." or ".." would
    // be a dot segment (removed by the browser, or by a proxy that decodes
    // %2E), and "a/b" two segments behind a proxy that decodes %2F.
    fetch('api/hosts?host=' + encodeURIComponent(key), { headers: { Accept: 'application/json' }, cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status))))
      .then((entry) => {
        const cur = state.hosts.get(key);
        if (cur !== h || !h.historyLoading || state.routeHost !== key) return;
        if (obj(entry) && !(Date.parse(entry.last_seen) < h.lastSeen)) {
          // The complete entry: the snapshot and the figures' lists that
          // the state frame leaves out.
          if (obj(entry.snapshot)) h.snapshot = entry.snapshot;
          if (h.figures && obj(entry.figures) && Array.isArray(entry.figures.fs)) {
            h.figures.fs = entry.figures.fs;
            h.figures.net = entry.figures.net;
            h.figures.temps = Array.isArray(entry.figures.temps) ? entry.figures.temps : [];
            derive(h);
          }
        }
        const fetched = obj(entry) && Array.isArray(entry.history) ? entry.history.filter(obj) : [];
        const lastT = fetched.length ? num(fetched[fetched.length - 1].t) : null;
        const newer = lastT == null ? [] : h.history.filter((p) => num(p.t) != null && p.t > lastT);
        h.history = fetched.concat(newer).slice(-state.historyCap);
        if (fetched.length > state.historyCap) state.historyCap = fetched.length;
        h.historyFull = true;
        h.historyLoading = false;
        hostViewDirty = true;
        schedule();
      })
      .catch((err) => {
        // The charts still fill up from the live points.
        if (h.historyLoading) { h.historyLoading = false; h.historyFull = true; }
        console.warn('sysmon: could not load the history of a host:', String(err));
      });
  }

  // ---------------------------------------------------------------- routing

  let overviewScroll = 0;
  let cameFrom = null; // the host whose tile opened the host view: focus goes back to it

  // #/host/NAME?range=7d: NAME is percent-encoded, so a "?" in it is %3F and
  // the first literal "?" starts history.js's parameters.
  function parseRoute() {
    const m = /^#\/host\/([^?]*)(?:\?(.*))?$/.exec(location.hash);
    if (!m) return null;
    try { return decodeURIComponent(m[1]); } catch (err) { return m[1]; }
  }

  const hist = () => window.sysmonHistory;

  function route() {
    const host = parseRoute();
    const events = host == null && /^#\/events\b/.test(location.hash);
    $('eventsview').hidden = !events;
    if (hist()) { if (events) hist().showEvents(); else hist().hideEvents(); }
    if (state.routeHost != null && state.routeHost !== host) dropHistory(state.routeHost);
    if (host != null && state.view === 'host' && state.routeHost === host) {
      // Only the range changed: history.js redraws.
      if (hist()) hist().host(host, new URLSearchParams(location.hash.split('?')[1] || ''));
      return;
    }
    if (hist()) hist().host(host, new URLSearchParams(host != null ? location.hash.split('?')[1] || '' : ''));
    if (host != null) {
      const fromOverview = state.view === 'overview';
      if (fromOverview) { overviewScroll = window.scrollY; cameFrom = host; }
      state.view = 'host';
      disarmForget();
      state.routeHost = host;
      $('overview').hidden = true;
      $('hostview').hidden = false;
      chartsNeedRebuild = true;
      rawShown = undefined; // shown afresh, empty until the host's snapshot is here
      hostViewDirty = true;
      loadHistory(host);
      window.scrollTo(0, 0);
      renderHostView();
      // The tile, row or cell that opened the host is hidden now: focus goes
      // to the host's name, where the view starts, not to the page's body
      // (a keyboard's next Tab, a screen reader's reading, start there).
      if (fromOverview) $('hv-name').focus({ preventScroll: true });
    } else {
      const wasHost = state.view === 'host';
      state.view = 'overview';
      state.routeHost = null;
      destroyCharts();
      $('hostview').hidden = true;
      $('overview').hidden = events;
      document.title = events ? 'Events · sysmon' : 'sysmon';
      const mode = /^#\/(grid|table|map)$/.exec(location.hash);
      setMode(mode ? mode[1] : state.mode);
      layoutDirty = true;
      if (wasHost) window.scrollTo(0, overviewScroll);
      frame();
      if (wasHost) {
        // Back where the user was: on the tile they came from, not the page's body.
        const h = cameFrom != null ? state.hosts.get(cameFrom) : null;
        const node = h ? revealHost(h) : null;
        if (node) node.focus({ preventScroll: true });
      }
    }
    sendWatch();
    schedule();
  }

  // ---------------------------------------------------------------- controls

  function loadPrefs() {
    try {
      const s = localStorage.getItem('sysmon.sort');
      if (s && SORTS[s]) state.sort = s;
      const v = localStorage.getItem('sysmon.view');
      if (v === 'grid' || v === 'table' || v === 'map') state.mode = v;
      state.problemsOnly = localStorage.getItem('sysmon.problems') === '1';
      state.group = localStorage.getItem('sysmon.group') || '';
    } catch (err) { /* storage may be disabled */ }
    $('sort').value = state.sort;
    $('problems').checked = state.problemsOnly;
  }

  function savePref(k, v) {
    try { localStorage.setItem(k, v); } catch (err) { /* ignore */ }
  }

  // setFilter applies the search box's text and keeps it in the address
  // (?q=), so that a filtered overview can be bookmarked and shared.
  function setFilter(q) {
    if ($('filter').value !== q) $('filter').value = q;
    state.filter = q.trim().toLowerCase();
    state.filterParsed = parseFilter(state.filter);
    const search = q.trim() ? '?q=' + encodeURIComponent(q.trim()) : '';
    if (location.search !== search) history.replaceState(history.state, '', location.pathname + search + location.hash);
    layoutDirty = true;
    schedule();
  }
  $('filter').addEventListener('input', (ev) => setFilter(ev.target.value));
  setFilter(new URLSearchParams(location.search).get('q') || '');
  $('sort').addEventListener('change', (ev) => {
    state.sort = SORTS[ev.target.value] ? ev.target.value : 'name';
    state.reverse = false;
    savePref('sysmon.sort', state.sort);
    layoutDirty = true;
    schedule();
  });
  $('group').addEventListener('change', (ev) => {
    state.group = ev.target.value;
    savePref('sysmon.group', state.group);
    layoutDirty = true;
    schedule();
  });
  $('problems').addEventListener('change', (ev) => {
    state.problemsOnly = ev.target.checked;
    savePref('sysmon.problems', state.problemsOnly ? '1' : '0');
    layoutDirty = true;
    schedule();
  });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === '/' && state.view === 'overview' && document.activeElement !== $('filter')) {
      ev.preventDefault();
      $('filter').focus();
    } else if (ev.key === 'Escape' && state.view === 'host') {
      location.hash = '#/';
    }
  });
  for (const b of $('counts').querySelectorAll('button[data-filter]')) {
    b.addEventListener('click', () => setStatusFilter(b.getAttribute('data-filter')));
  }
  document.addEventListener('selectionchange', () => {
    // A selection that ends lets the JSON panel catch up.
    if (state.view === 'host' && !$('raw-paused').hidden && !rawSelected()) { hostViewDirty = true; schedule(); }
  });
  $('hv-fs-more').addEventListener('click', () => { fsTableAll = !fsTableAll; hostViewDirty = true; schedule(); });
  $('raw-copy').addEventListener('click', () => {
    const btn = $('raw-copy');
    const done = (msg) => { btn.textContent = msg; setTimeout(() => { btn.textContent = 'Copy'; }, 2000); };
    if (!navigator.clipboard) { done('Select and press Ctrl+C'); return; }
    navigator.clipboard.writeText($('raw').textContent).then(() => done('Copied'), () => done('Copy refused: select and press Ctrl+C'));
  });

  // Forgetting a host (a retired machine) asks for a second click: the host
  // is gone from every dashboard, until it publishes again.
  let forgetTimer = 0;
  function disarmForget() {
    clearTimeout(forgetTimer);
    const btn = $('forget');
    btn.removeAttribute('data-armed');
    btn.textContent = 'Forget this host';
    $('forget-msg').textContent = '';
  }
  $('forget').addEventListener('click', () => {
    const key = state.routeHost;
    const btn = $('forget');
    if (key == null) return;
    if (btn.getAttribute('data-armed') !== key) {
      btn.setAttribute('data-armed', key);
      btn.textContent = 'Click again to forget it';
      $('forget-msg').textContent = 'Removes the host from every dashboard; it comes back if it publishes again.';
      clearTimeout(forgetTimer);
      forgetTimer = setTimeout(disarmForget, 6000);
      return;
    }
    disarmForget();
    fetch('api/hosts?host=' + encodeURIComponent(key), { method: 'DELETE', cache: 'no-store' })
      .then((r) => {
        if (!r.ok && r.status !== 404) throw new Error('HTTP ' + r.status);
        removeHost(key);
        if (state.routeHost === key) location.hash = '#/';
      })
      .catch((err) => { $('forget-msg').textContent = 'Could not forget the host: ' + String(err.message || err); });
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('online', retryNow);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) retryNow(); });
  const dark = window.matchMedia ? window.matchMedia('(prefers-color-scheme: dark)') : null;
  if (dark && dark.addEventListener) {
    dark.addEventListener('change', () => { chartsNeedRebuild = true; hostViewDirty = true; schedule(); });
  }

  loadPrefs();
  renderThresholds();
  route();
  connect();
  setInterval(tick, 1000);
  setInterval(pollDelay, 5000);
})();
