// sysmon dashboard: alerts. Polls GET /api/alerts, shows the number firing in
// the header, a badge on each affected tile, and the alerts page (#/alerts)
// with silence buttons. Kept apart from app.js: it only reads the tiles'
// data-host and owns its own route, which it applies after app.js's
// hashchange handler (this script loads after app.js).
(function () {
  'use strict';

  const POLL_MS = 5000;
  const $ = (id) => document.getElementById(id);
  let last = null; // the latest /api/alerts answer
  let byHost = new Map(); // host → firing alerts (not silenced)

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text; // never HTML: names come from messages
    return e;
  }

  // The dashboard's one time format (chartkit.js).
  function fmtTime(s) {
    const ms = Date.parse(s);
    return Number.isFinite(ms) ? window.sysmonChartKit.fmtTime(ms) : '';
  }

  async function poll() {
    try {
      const r = await fetch('api/alerts', { cache: 'no-store', credentials: 'same-origin' });
      if (!r.ok) throw new Error('HTTP ' + r.status);
      last = await r.json();
      byHost = new Map();
      for (const a of last.firing || []) {
        if (!byHost.has(a.host)) byHost.set(a.host, []);
        byHost.get(a.host).push(a);
      }
      $('alerts-error').hidden = true;
    } catch (err) {
      $('alerts-error').hidden = false;
      $('alerts-error').textContent = 'Cannot load alerts: ' + err.message;
    }
    render();
  }

  function render() {
    renderBadge();
    decorateAll();
    if (onPage()) renderPage();
  }

  function renderBadge() {
    const n = last ? (last.firing || []).length : 0;
    const b = $('alerts-badge');
    $('alerts-count').textContent = String(n);
    b.dataset.firing = n > 0 ? 'yes' : 'no';
    b.title = n + ' alert' + (n === 1 ? '' : 's') + ' firing' +
      (last && last.silenced && last.silenced.length ? ', ' + last.silenced.length + ' silenced' : '') +
      (last && last.blind ? ' (broker connection down: host_offline held back)' : '');
  }

  // ------------------------------------------------------------- tile badges

  function decorate(tile) {
    const host = tile.getAttribute('data-host');
    const firing = byHost.get(host);
    let badge = tile.querySelector('.t-alert');
    if (!firing) {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = el('span', 't-alert');
      const head = tile.querySelector('.t-head');
      (head || tile).append(badge);
    }
    badge.textContent = '⚠ ' + firing.length;
    badge.title = firing.map((a) => a.rule + ': ' + a.summary).join('\n');
  }

  function decorateAll() {
    for (const t of document.querySelectorAll('#tiles [data-host], #down-tiles [data-host]')) decorate(t);
  }

  // Tiles appear as hosts arrive: badge them as they come. Hosts that are
  // down have their own group (app.js).
  const tilesSeen = new MutationObserver((muts) => {
    for (const m of muts) for (const n of m.addedNodes) {
      if (n.nodeType === 1 && n.hasAttribute('data-host')) decorate(n);
    }
  });
  tilesSeen.observe($('tiles'), { childList: true });
  tilesSeen.observe($('down-tiles'), { childList: true });

  // ------------------------------------------------------------- the page

  function onPage() { return /^#\/alerts\b/.test(location.hash); }

  function route() {
    const on = onPage();
    $('alertsview').hidden = !on;
    if (on) {
      $('overview').hidden = true;
      $('hostview').hidden = true;
      document.title = 'sysmon · alerts';
      renderPage();
    }
  }

  async function write(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: {} };
    if (body) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    if (!r.ok) {
      let msg = 'HTTP ' + r.status;
      try { msg = (await r.json()).error || msg; } catch (err) { /* not JSON */ }
      $('alerts-error').hidden = false;
      $('alerts-error').textContent = msg;
      return;
    }
    poll();
  }

  function silenceButton(label, body) {
    const b = el('button', 'silence', label);
    b.type = 'button';
    b.addEventListener('click', () => write('POST', 'api/silences', Object.assign({ duration: $('silence-for').value }, body)));
    return b;
  }

  function alertRow(a, withButtons) {
    const tr = el('tr');
    tr.dataset.rule = a.rule;
    tr.dataset.host = a.host;
    const sev = el('td', 'sev ' + (a.severity || ''), a.severity || '');
    const host = el('td');
    const link = el('a', null, a.host);
    link.href = '#/host/' + encodeURIComponent(a.host);
    host.append(link);
    tr.append(sev, el('td', 'rule', a.rule + (a.mount ? ' ' + a.mount : '')), host,
      el('td', null, a.summary || ''), el('td', null, fmtTime(a.since)));
    const act = el('td', 'act');
    if (withButtons) act.append(silenceButton('Silence', { host: a.host, rule: a.rule }), silenceButton('Silence host', { host: a.host }));
    tr.append(act);
    return tr;
  }

  function fill(id, rows, empty) {
    const tb = $(id).querySelector('tbody');
    tb.replaceChildren(...rows);
    if (!rows.length) {
      const tr = el('tr');
      const td = el('td', 'none', empty);
      td.colSpan = 6;
      tr.append(td);
      tb.append(tr);
    }
  }

  function renderPage() {
    if (!last) return;
    fill('alerts-firing', (last.firing || []).map((a) => alertRow(a, true)), 'Nothing firing.');
    fill('alerts-silenced', (last.silenced || []).map((a) => alertRow(a, false)), 'No silenced alert.');
    fill('alerts-silences', (last.silences || []).map((s) => {
      const tr = el('tr');
      tr.dataset.id = s.id;
      const del = el('button', 'silence', 'Delete');
      del.type = 'button';
      del.addEventListener('click', () => write('DELETE', 'api/silences/' + encodeURIComponent(s.id)));
      const act = el('td', 'act');
      act.append(del);
      tr.append(el('td', null, s.host || 'any host'), el('td', null, s.rule || 'any rule'),
        el('td', null, s.comment || ''), el('td', null, 'until ' + fmtTime(s.until)), el('td'), act);
      return tr;
    }), 'No silence.');
    fill('alerts-recent', (last.recent || []).slice(0, 100).map((e) => {
      const tr = alertRow(e, false);
      tr.children[0].textContent = e.state;
      tr.children[0].className = 'sev ' + e.state;
      tr.children[4].textContent = fmtTime(e.state === 'resolved' ? e.ended : e.since);
      return tr;
    }), 'No transition yet.');
    $('alerts-blind').hidden = !last.blind;
  }

  $('silence-host-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const host = $('silence-host').value.trim();
    const rule = $('silence-rule').value;
    if (!host && !rule) return;
    const body = { comment: $('silence-comment').value };
    if (host) body.host = host;
    if (rule) body.rule = rule;
    write('POST', 'api/silences', Object.assign({ duration: $('silence-for').value }, body));
  });

  window.addEventListener('hashchange', route);
  route();
  poll();
  setInterval(poll, POLL_MS);
})();
