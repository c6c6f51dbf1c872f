// sysmon dashboard: the WebSocket stream, in a dedicated Web Worker (issue
// 14, point 8). At 10,000 hosts the consumer sends 10,000 entries a second;
// parsing them took a quarter of the page's main thread, and scrolling
// stuttered behind it. This worker owns the socket, parses every frame and
// hands app.js what it needs to draw:
//
//   - rows: one per entry, in a Float64Array transferred (not copied):
//     [index, last seen (ms), interval (s), then the figures in NUMS order],
//     NaN for null;
//   - full: the entries whose other fields (status, tags, missing sources,
//     platform…) changed since the worker last passed them on, the host's
//     first entry, and every entry of the state (a "state" frame and the
//     "state_part" frames that follow while it says "more") or of the watched host
//     (the host view's; its points come in "watched"), without the figures of the row;
//     each names its row (r) and keeps its host's index (i);
//   - removed: the hosts the consumer forgot, each with the row it came
//     before (r), so that app.js applies the frame in its order: a frame
//     that catches up with several ticks may hold a host's entry, then its
//     removal, or the other way round.
//
// Messages from app.js: {type:'connect'} opens the socket (app.js decides
// when to reconnect), {type:'watch', host} says which host is on screen.
// To app.js: {type:'open'}, {type:'close'}, {type:'frame', kind, …}: kind is
// the frame's type (state, state_part or update); a state's frames say the
// hosts of the whole state (total) and whether another part follows (more).
'use strict';

// The figures every entry carries as numbers (internal/hub/protocol.go's
// Figures); each state tells app.js these names and HEAD.
const NUMS = ['cpu', 'mem', 'mem_total', 'swap', 'swap_total', 'load1', 'load5', 'load15', 'cores', 'load_per_core',
  'rx', 'tx', 'rd', 'wr', 'rd_ops', 'wr_ops', 'uptime', 'seq', 'disk', 'temp'];
const HEAD = 3; // index, last seen, interval
const STRIDE = HEAD + NUMS.length;

let ws = null;
let watch = null; // the host app.js shows, or null
const index = new Map(); // host -> its index, for as long as the consumer knows it
// host -> what was last passed on of its other fields: a string (sigOf), or
// the state's entry it is to be made of once the host's first update comes
// (making 10,000 of them held up the first render).
const sig = new Map();
let nextIndex = 0;
// host -> its facts (internal/hub/protocol.go's FactKeys) as last received:
// an update's entry leaves them out when they did not change, and the
// consumer then counts on the client to have them. An entry with "legacy"
// has them all.
const facts = new Map();

const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : null);
const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN);

function send(m) {
  if (ws && ws.readyState === 1) ws.send(JSON.stringify(m));
}

function connect() {
  if (ws) return;
  let sock;
  try {
    sock = new WebSocket((self.location.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + self.location.host + '/ws');
  } catch (err) {
    postMessage({ type: 'close' });
    return;
  }
  ws = sock;
  sock.onopen = () => {
    if (ws !== sock) return;
    send({ type: 'watch', host: watch });
    postMessage({ type: 'open' });
  };
  sock.onmessage = (ev) => {
    if (ws !== sock || typeof ev.data !== 'string') return;
    let msg;
    try { msg = JSON.parse(ev.data); } catch (err) {
      console.warn('sysmon: ignoring a frame that is not JSON');
      return;
    }
    if (obj(msg) && (msg.type === 'state' || msg.type === 'state_part' || msg.type === 'update')) frame(msg);
  };
  sock.onclose = () => {
    if (ws !== sock) return;
    ws = null;
    postMessage({ type: 'close' });
  };
  sock.onerror = () => { /* onclose follows */ };
}

// take copies an entry's figures f of NUMS into rows at `at`, NaN for
// null. Each by its name: a read by a computed name (f[NUMS[k]]) and
// deleting the figures from each entry took the worker twice as long as
// parsing the frame. Checked against NUMS as the worker starts.
function take(f, rows, at) {
  rows[at] = num(f.cpu); rows[at + 1] = num(f.mem); rows[at + 2] = num(f.mem_total); rows[at + 3] = num(f.swap);
  rows[at + 4] = num(f.swap_total); rows[at + 5] = num(f.load1); rows[at + 6] = num(f.load5); rows[at + 7] = num(f.load15);
  rows[at + 8] = num(f.cores); rows[at + 9] = num(f.load_per_core); rows[at + 10] = num(f.rx); rows[at + 11] = num(f.tx);
  rows[at + 12] = num(f.rd); rows[at + 13] = num(f.wr); rows[at + 14] = num(f.rd_ops); rows[at + 15] = num(f.wr_ops);
  rows[at + 16] = num(f.uptime); rows[at + 17] = num(f.seq); rows[at + 18] = num(f.disk); rows[at + 19] = num(f.temp);
}
{
  const t = {};
  NUMS.forEach((k, j) => { t[k] = j; });
  const r = new Float64Array(NUMS.length);
  take(t, r, 0);
  if (!r.every((v, j) => v === j)) throw new Error('stream.js: take() does not read the figures in NUMS order');
}

// sigOf is what an entry says besides its numbers: what changes with every
// snapshot is not worth a comparison (the numbers, the time it was taken,
// and the points: only the watched host's are kept). Lean entries have no
// fs, net or temps (internal/hub/protocol.go); a test holds this list to
// the protocol's figures.
function sigOf(e, f) {
  let s = (e.host_id || '') + '\u0000' + (e.legacy === true) + '\u0000' + e.status + '\u0000' + (e.goodbye === true) + '\u0000';
  if (!f) s += '-';
  else {
    s += f.disk_mount + '\u0000' + f.temp_sensor + '\u0000' + f.temp_level + '\u0000' + f.platform + '\u0000' + f.platform_release +
      '\u0000' + f.processor + '\u0000' + f.agent_version + '\u0000' + JSON.stringify(f.missing) + '\u0000' + JSON.stringify(f.tags);
  }
  if (e.snapshot !== undefined) s += '\u0000snapshot';
  return s;
}

// keepFacts notes the facts of an entry that has them, and gives them back
// to one that left them out. Each by its name, as take() reads the figures.
function keepFacts(e, f) {
  if (e.legacy !== undefined) {
    facts.set(e.host, {
      host_id: e.host_id, legacy: e.legacy, interval_seconds: e.interval_seconds,
      mem_total: f && f.mem_total, swap_total: f && f.swap_total, cores: f && f.cores, disk_mount: f && f.disk_mount,
      platform: f && f.platform, platform_release: f && f.platform_release, processor: f && f.processor,
      agent_version: f && f.agent_version, tags: f && f.tags, temp_sensor: f && f.temp_sensor,
    });
    return;
  }
  const k = facts.get(e.host);
  if (!k) return; // not from this consumer: the entry says what it says
  if (k.host_id !== undefined) e.host_id = k.host_id;
  e.legacy = k.legacy; e.interval_seconds = k.interval_seconds;
  if (!f) return;
  f.mem_total = k.mem_total; f.swap_total = k.swap_total; f.cores = k.cores; f.disk_mount = k.disk_mount;
  f.platform = k.platform; f.platform_release = k.platform_release; f.processor = k.processor;
  f.agent_version = k.agent_version; f.temp_sensor = k.temp_sensor;
  if (k.tags !== undefined) f.tags = k.tags;
}
// others is an entry's figures but the numbers (the row has them), each
// by its name as take() reads them. Deleting the 20 numbers from each
// entry's figures instead took most of frame()'s time on a state: 86 to
// 102 ms for its 10,000 entries, 25 to 38 ms as a new object (Node's V8).
function others(f) {
  return {
    disk_mount: f.disk_mount, missing: f.missing, tags: f.tags, temp_sensor: f.temp_sensor, temp_level: f.temp_level,
    platform: f.platform, platform_release: f.platform_release, processor: f.processor, agent_version: f.agent_version,
    sampled_at: f.sampled_at, fs: f.fs, net: f.net, temps: f.temps, // the lists: complete entries only
  };
}
// frame splits a parsed frame into rows and the entries that must go whole.
function frame(msg) {
  const state = msg.type === 'state' || msg.type === 'state_part'; // every entry goes whole
  const entries = Array.isArray(msg.hosts) ? msg.hosts : [];
  if (msg.type === 'state') { sig.clear(); index.clear(); facts.clear(); } // app.js starts over, with new indexes
  const rows = new Float64Array(entries.length * STRIDE);
  const full = [];
  const removed = [];
  let n = 0;
  for (const e of entries) {
    if (!obj(e) || typeof e.host !== 'string' || e.host === '') continue;
    if (e.removed === true) {
      removed.push({ host: e.host, r: n });
      index.delete(e.host);
      sig.delete(e.host);
      facts.delete(e.host);
      continue;
    }
    const f = obj(e.figures);
    keepFacts(e, f);
    let i = index.get(e.host);
    if (i === undefined) { i = nextIndex++; index.set(e.host, i); }
    const at = n * STRIDE;
    rows[at] = i;
    const seen = Date.parse(e.last_seen);
    rows[at + 1] = Number.isFinite(seen) ? seen : NaN;
    rows[at + 2] = num(e.interval_seconds);
    if (f) take(f, rows, at + HEAD);
    else rows.fill(NaN, at + HEAD, at + STRIDE);
    if (state) {
      sig.set(e.host, e); // its string when the host's first update comes
    } else {
      let was = sig.get(e.host);
      if (was !== undefined && typeof was !== 'string') was = sigOf(was, obj(was.figures));
      const s = sigOf(e, f);
      sig.set(e.host, s);
      if (e.host !== watch && f && was === s) { n++; continue; } // the row says it all
      if (e.host !== watch) { delete e.point; delete e.points; }
    }
    if (f) e.figures = others(f); // the row has the numbers
    e.r = n;
    e.i = i;
    full.push(e);
    n++;
  }
  const out = { type: 'frame', kind: msg.type, rows: n * STRIDE < rows.length ? rows.slice(0, n * STRIDE) : rows, full, removed };
  if (state) out.more = msg.more === true;
  if (msg.type === 'state') {
    out.config = msg.config; out.server_time = msg.server_time; out.nums = NUMS; out.head = HEAD;
    out.total = Number.isInteger(msg.total) ? msg.total : entries.length;
  }
  if (obj(msg.watched)) out.watched = msg.watched;
  postMessage(out, [out.rows.buffer]);
}

self.onmessage = (ev) => {
  const m = ev.data;
  if (!obj(m)) return;
  if (m.type === 'connect') connect();
  else if (m.type === 'watch') {
    watch = typeof m.host === 'string' ? m.host : null;
    send({ type: 'watch', host: watch });
  }
};
