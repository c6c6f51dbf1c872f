// sysmon dashboard: the views of a big fleet (issue 14, point 8): a virtual
// list that keeps only the rows on screen in the document, the compact
// table and the one-screen status map. app.js owns the state, the ranking
// and the filters; it hands these views the ordered hosts.
//
// Same rules as app.js: text-only insertion, no inline script or style
// attribute (sizes go through the CSSOM), nothing drawn that is off screen.
'use strict';

(function () {
  // Rows kept either side of the screen: Tab to the next tile and a short
  // scroll find it there already.
  const OVERSCAN = 2;
  // Scrolled out of the rows drawn, the window moves by half a screen more
  // than it must, each way: most frames of a scroll then change nothing in
  // the document (the compositor moves what is drawn), and one in half a
  // screen's worth draws those rows at once. A window that moved by a row or
  // two at every frame laid the list out each time (17 frames/s at 10,000
  // hosts on the 2-core VM). A whole screen each way drew more tiles than
  // needed: every repaint of the list (Chromium repaints it each few hundred
  // pixels of a scroll) records every tile drawn, and the grid scrolled
  // 2 to 3 frames/s slower than with half a screen.
  const AHEAD = 0.5; // screens

  // windowed keeps in container only the items of list whose rows are on
  // screen. o.metrics() gives {cols, rowH}; o.bind(item) returns its
  // element (drawn); o.release(item) gives it back; o.pad(container, before,
  // after, rowH) keeps the room of the rows left out, so the page scrolls as
  // if every item were there.
  function windowed(container, o) {
    const w = { list: [], shown: [], from: -1, to: -1, r0: 0, r1: 0, rows: -1, metrics: null };
    w.set = (list) => { w.list = list; w.metrics = null; w.update(true); };
    // New metrics (a resize) move every row: the next update draws the
    // window afresh, though its number of rows or its items may be the same.
    w.invalidate = () => { w.metrics = null; w.rows = -1; w.from = -1; };
    w.update = (force) => {
      if (!w.metrics || w.metrics.rowH <= 0) w.metrics = o.metrics();
      const { cols, rowH } = w.metrics;
      const rows = Math.ceil(w.list.length / cols);
      let r0 = 0, r1 = 0;
      if (w.all) {
        r1 = rows; // every item (a grid whose rows differ in height)
      } else if (rows > 0 && container.offsetParent === null) {
        // Not displayed (a closed group): its first screen, ready when it opens.
        r1 = Math.min(rows, Math.ceil(window.innerHeight / rowH) + OVERSCAN);
      } else if (rows > 0) {
        const top = container.getBoundingClientRect().top;
        const v0 = Math.min(rows, Math.max(0, Math.floor(-top / rowH) - OVERSCAN));
        const v1 = Math.min(rows, Math.max(v0, Math.ceil((window.innerHeight - top) / rowH) + OVERSCAN));
        if (!force && w.rows === rows && v0 >= w.r0 && v1 <= w.r1) return false; // still inside what is drawn
        const ahead = Math.ceil(AHEAD * window.innerHeight / rowH);
        r0 = Math.max(0, v0 - ahead);
        r1 = Math.min(rows, v1 + ahead);
      }
      w.rows = rows;
      w.r0 = r0;
      w.r1 = r1;
      const from = r0 * cols, to = Math.min(w.list.length, r1 * cols);
      if (!force && from === w.from && to === w.to) return false;
      w.from = from;
      w.to = to;
      const want = w.list.slice(from, to);
      const keep = new Set(want);
      const was = new Set(w.shown);
      for (const it of w.shown) if (!keep.has(it)) o.release(it);
      let i = o.pad(container, r0, rows - r1, rowH);
      const nodes = want.map((it, k) => o.bind(it, from + k));
      const tail = o.tail ? o.tail(container) : null;
      // Only the nodes of the items kept stay where they are; every other
      // node goes out first, new or reused (a node bound again from a pool
      // is still in the document where its last item was). Left before the
      // ones kept (scrolled down), each kept one would be taken out and put
      // back in front of them, and styled and laid out anew: the table,
      // whose rows come from a pool, put back every row it kept at each
      // move of its window (147 of 166 rows added in a 1,800 px scroll).
      const stay = new Set();
      for (let k = 0; k < want.length; k++) if (was.has(want[k])) stay.add(nodes[k]);
      for (let c = container.children[i]; c;) {
        const next = c.nextElementSibling;
        if (c !== tail && !stay.has(c)) c.remove();
        c = next;
      }
      for (const node of nodes) {
        const at = container.children[i];
        if (at !== node) container.insertBefore(node, at || null);
        i++;
      }
      if (tail && container.children[i] !== tail) container.insertBefore(tail, container.children[i] || null);
      w.shown = want;
      return true;
    };
    // index of an item in the whole list, and the page offset of its row.
    w.offsetOf = (it) => {
      const i = w.list.indexOf(it);
      if (i < 0) return null;
      if (!w.metrics) w.metrics = o.metrics();
      return container.getBoundingClientRect().top + window.scrollY + Math.floor(i / w.metrics.cols) * w.metrics.rowH;
    };
    return w;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  // The table's columns: the sort each header sets (app.js's SORTS).
  const COLUMNS = [
    { key: 'name', label: 'Host' },
    { key: 'worst', label: 'Status' },
    { key: 'cpu', label: 'CPU', num: true },
    { key: 'mem', label: 'Memory', num: true },
    { key: 'disk', label: 'Disk', num: true },
    { key: 'load', label: 'Load', num: true },
    { key: 'net', label: 'Network', num: true },
    { key: 'seen', label: 'Last seen', num: true },
  ];

  // table: one row per host, sortable by a click on its header, rows on
  // screen only. Down hosts follow a "Down (n)" row that opens and closes
  // them, as the grid's Down group does.
  function table(api) {
    const root = el('div', 'vtable-wrap');
    const tbl = el('table', 'data vtable');
    tbl.id = 'hosts-table';
    const cap = el('caption', 'visually-hidden', 'Hosts, one row each; a column header sorts by it');
    const thead = el('thead');
    const hr = el('tr');
    const ths = [];
    for (const c of COLUMNS) {
      const th = el('th', c.num ? 'num' : '');
      th.setAttribute('scope', 'col');
      const b = el('button', 'sort-h', c.label);
      b.type = 'button';
      b.addEventListener('click', () => api.sortBy(c.key));
      th.append(b);
      hr.append(th);
      ths.push({ c, th });
    }
    thead.append(hr);
    const tbody = el('tbody');
    tbl.append(cap, thead, tbody);
    root.append(tbl);

    const pool = [];
    const spacerTop = el('tr', 'spacer'), spacerBottom = el('tr', 'spacer');
    for (const s of [spacerTop, spacerBottom]) {
      s.setAttribute('aria-hidden', 'true');
      const td = el('td');
      td.colSpan = COLUMNS.length;
      s.append(td);
    }
    // The Down group's row: a button that opens or closes it.
    const downRow = el('tr', 'group');
    const downCell = el('th');
    downCell.colSpan = COLUMNS.length;
    downCell.setAttribute('scope', 'rowgroup');
    const downBtn = el('button', 'group-toggle');
    downBtn.type = 'button';
    downBtn.addEventListener('click', () => api.toggleDown());
    downCell.append(downBtn);
    downRow.append(downCell);
    const DOWN = { down: true };

    function makeRow() {
      const tr = el('tr');
      const name = el('a', 't-link');
      const tdName = el('td', 'c-name');
      tdName.append(name);
      const shape = el('span', 'shape');
      shape.setAttribute('aria-hidden', 'true');
      const word = el('span');
      const tdStatus = el('td', 'c-status');
      tdStatus.append(shape, word);
      const cells = {};
      tr.append(tdName, tdStatus);
      for (const k of ['cpu', 'mem', 'disk', 'load', 'net', 'seen']) {
        cells[k] = el('td', 'num');
        cells[k].setAttribute('data-metric', k);
        tr.append(cells[k]);
      }
      return { el: tr, name, shape, word, cells };
    }

    const rowH = () => {
      const v = parseFloat(getComputedStyle(root).getPropertyValue('--row-h'));
      return v > 0 ? v : 33;
    };
    const win = windowed(tbody, {
      metrics: () => ({ cols: 1, rowH: rowH() }),
      pad(container, before, after, h) {
        spacerTop.firstChild.style.height = before * h + 'px';
        spacerBottom.firstChild.style.height = after * h + 'px';
        spacerTop.hidden = before === 0;
        spacerBottom.hidden = after === 0;
        if (container.firstElementChild !== spacerTop) container.insertBefore(spacerTop, container.firstElementChild);
        return 1;
      },
      tail: () => spacerBottom,
      bind(h, i) {
        if (h === DOWN) { downRow.setAttribute('aria-rowindex', String(i + 2)); return downRow; }
        if (!h.row) {
          h.row = pool.pop() || makeRow();
          h.row.el.__host = h;
          h.row.host = null;
        }
        h.row.index = i;
        render(h);
        return h.row.el;
      },
      release(h) {
        if (h === DOWN || !h.row) return;
        const r = h.row;
        h.row = null;
        r.el.__host = null;
        // A row with focus in it leaves the page with its host; it is not reused.
        if (!r.el.contains(document.activeElement)) pool.push(r);
      },
    });

    function render(h) {
      const r = h.row;
      if (!r) return;
      const m = h.m;
      if (r.host !== h) {
        r.host = h;
        r.name.setAttribute('href', api.hostHref(h));
        r.name.setAttribute('title', h.key);
        r.el.setAttribute('data-host', h.key);
      }
      api.setText(r.name, api.shortName(h.key));
      const s = api.statusOf(h);
      api.setAttr(r.el, 'data-s', s);
      api.setText(r.word, api.statusWord(s));
      api.setAttr(r.el, 'aria-rowindex', String(r.index + 2));
      const f = api.fmt;
      cell(r.cells.cpu, f.pct(m.cpu), m.lvCpu);
      cell(r.cells.mem, f.pct(m.mem), m.lvMem);
      cell(r.cells.disk, f.pct(m.disk), m.lvDisk);
      cell(r.cells.load, f.load(m.load1), m.lvLoad);
      cell(r.cells.net, m.rx == null && m.tx == null ? f.dash : '↓ ' + f.rate(m.rx) + ' ↑ ' + f.rate(m.tx), 'ok');
      renderSeen(h);
    }

    function cell(td, text, level) {
      api.setText(td, text);
      api.setAttr(td, 'class', 'num m-' + level);
    }

    function renderSeen(h) {
      if (h.row) api.setText(h.row.cells.seen, api.seenText(h));
    }

    function set(list, down, downOpen, sort, reverse) {
      const rows = list.slice();
      if (down.length) {
        api.setText(downBtn, 'Down (' + down.length + ') · offline or shut down, newest first');
        downBtn.setAttribute('aria-expanded', String(downOpen));
        rows.push(DOWN);
        if (downOpen) for (const h of down) rows.push(h);
      }
      tbl.setAttribute('aria-rowcount', String(rows.length + 1));
      for (const { c, th } of ths) {
        if (c.key !== sort) { th.removeAttribute('aria-sort'); continue; }
        // Names and last seen go up (a to z, oldest first); figures down.
        const up = (c.key === 'name' || c.key === 'seen') !== reverse;
        th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
      }
      win.set(rows);
    }

    return {
      el: root,
      set,
      update: () => win.update(false),
      invalidate: win.invalidate,
      render,
      renderSeen,
      shown: () => win.shown.filter((h) => h !== DOWN),
      clear() { win.set([]); pool.length = 0; },
      // reveal scrolls h's row into the page and returns what takes focus.
      reveal(h) {
        if (!h.row) {
          const y = win.offsetOf(h);
          if (y == null) return null;
          window.scrollTo(0, Math.max(0, y - window.innerHeight / 3));
          win.update(true);
        }
        return h.row ? h.row.name : null;
      },
    };
  }

  // map: one cell per host on one screen, its status by colour and shape;
  // hover or focus tells the figures, a click opens the host. One cell is in
  // the Tab order; the arrow keys move between cells.
  function map(api) {
    const root = el('div', 'map-wrap');
    const legend = el('ul', 'map-legend');
    legend.setAttribute('aria-label', 'Status map legend');
    for (const s of ['crit', 'warn', 'degraded', 'stale', 'live', 'offline']) {
      const li = el('li');
      const sh = el('span', 'cell-shape');
      sh.setAttribute('data-s', s);
      sh.setAttribute('aria-hidden', 'true');
      li.append(sh, document.createTextNode(api.statusWord(s)));
      legend.append(li);
    }
    const grid = el('div', 'map');
    grid.setAttribute('role', 'group');
    grid.setAttribute('aria-label', 'Status map: one cell per host, worst first; arrow keys move, Enter opens');
    const downHead = el('h2', 'map-down-head');
    const downGrid = el('div', 'map');
    downGrid.setAttribute('role', 'group');
    downGrid.setAttribute('aria-label', 'Hosts that are down');
    const tip = el('div', 'map-tip');
    tip.setAttribute('role', 'tooltip');
    tip.id = 'map-tip';
    tip.hidden = true;
    const ring = el('div', 'map-ring');
    ring.setAttribute('aria-hidden', 'true');
    ring.hidden = true;
    // The cells' colours and shapes are drawn on one canvas under them; the
    // cells themselves paint nothing and are there for the keyboard, screen
    // readers, hover and clicks. 10,000 painted cells were one layer of
    // 10,000 display items and clip nodes, painted, layerized and committed
    // again at each frame where any cell changed (map busy 34 % at 10,000
    // hosts, against 19 % for the grid).
    const canvas = el('canvas', 'map-paint');
    canvas.setAttribute('aria-hidden', 'true');
    // In the document only while the map has cells: the other views have
    // no canvas of it.
    root.append(legend, grid, downHead, downGrid, tip, ring);

    let order = []; // every host of the map: the fleet's, then the Down group's
    let nUp = 0, nDown = 0;
    let current = null; // the cell in the Tab order

    // The canvas shows every host from the first frame; the cells, which
    // paint nothing, come in over the next frames: FIRST in the first, then
    // twice as many, at most CHUNK more a frame (10,000 cells in 7 frames).
    // 10,000 cells made, styled and laid out in one frame held the first
    // render of the map 0.5 to 3 s behind the table's (10,000 hosts on the
    // 2-core VM).
    const FIRST = 500, CHUNK = 2000;
    let limit = Infinity; // the first `limit` hosts of order have a cell
    let growing = false;

    function cellOf(h) {
      if (!h.cell) {
        const a = el('a', 'cell');
        a.__host = h;
        a.__s = '';
        a.setAttribute('href', api.hostHref(h));
        a.setAttribute('data-host', h.key);
        a.tabIndex = -1;
        h.cell = a;
      }
      render(h);
      return h.cell;
    }

    // render follows h's status: its shape on the canvas (whether or not
    // it has a cell yet) and its cell's attributes.
    function render(h) {
      if (h.cellG == null) return; // not on the map
      const s = api.statusOf(h);
      if (h.cellS !== s) {
        h.cellS = s;
        paintCell(h);
      }
      const a = h.cell;
      if (a && a.__s !== s) {
        a.__s = s;
        a.setAttribute('data-s', s);
        a.setAttribute('aria-label', h.key + ', ' + api.statusWord(s));
      }
      if (tipHost === h && a) showTip(h);
    }

    // The canvas: where each grid's cells are and the colours of the theme,
    // measured only when the cells' size or the page's layout changes (fit,
    // a resize, the theme), never after cells went in, which would lay out
    // 10,000 of them at once in the middle of a frame. A cell's place is
    // arithmetic, as the flex wrap puts it (both grids have their height
    // set to their rows, so the Down group's place does not wait for the
    // cells either).
    const GAP = 3;
    let geo = null; // { dpr, colors, size, grids: [{ x, y, per }] }
    const ctx = canvas.getContext('2d');
    function colors() {
      const cs = getComputedStyle(root), c = {};
      for (const k of ['ok', 'warn', 'crit', 'stale', 'offline']) c[k] = cs.getPropertyValue('--' + k).trim();
      return c;
    }
    const rowsOf = (n, per) => (n ? Math.ceil(n / per) : 0);
    const heightOf = (n, per, size) => Math.max(0, rowsOf(n, per) * (size + GAP) - GAP);
    // measure reads the layout (before it sets anything: a read after a
    // change lays the page out again), sets the cells' size and the grids'
    // heights, and sizes the canvas.
    function measure(size) {
      geo = null;
      const w = root.clientWidth;
      if (w === 0) return; // not displayed: measured when it is (the observer below)
      const per = Math.max(1, Math.floor((grid.clientWidth + GAP) / (size + GAP)));
      const upH = heightOf(nUp, per, size), downH = heightOf(nDown, per, size);
      // The Down group starts below the fleet's rows and its heading: the
      // space between the two grids is what it is now, less the fleet's
      // rows now.
      const x = grid.offsetLeft, y = grid.offsetTop;
      const between = downGrid.offsetTop - y - grid.offsetHeight;
      const y2 = y + upH + between;
      geo = { dpr: window.devicePixelRatio || 1, colors: colors(), size, grids: [{ x, y, per }, { x: downGrid.offsetLeft, y: y2, per }] };
      root.style.setProperty('--cell', size + 'px');
      grid.style.height = upH + 'px';
      downGrid.style.height = downH + 'px';
      const hgt = Math.max(y2 + downH, y + upH);
      const cw = Math.round(w * geo.dpr), ch = Math.round(hgt * geo.dpr);
      if (canvas.width !== cw || canvas.height !== ch) { canvas.width = cw; canvas.height = ch; }
      canvas.style.height = hgt + 'px';
    }
    function paintAll() {
      pending.length = 0;
      if (!geo) return;
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      ctx.setTransform(geo.dpr, 0, 0, geo.dpr, 0, 0);
      drawBatch(order, false);
    }
    // Cells whose status changed are drawn once the frame's updates are in,
    // together: one path per status, not one per cell.
    const pending = [];
    function paintCell(h) {
      if (!geo) return;
      if (pending.length === 0) queueMicrotask(flush);
      pending.push(h);
    }
    function flush() {
      if (!geo || pending.length === 0) { pending.length = 0; return; }
      drawBatch(pending, true);
      pending.length = 0;
    }
    const FILL = { crit: 'crit', warn: 'warn', live: 'ok' };
    const LINE = { degraded: 'warn', stale: 'stale', offline: 'offline' };
    function drawBatch(hosts, clear) {
      const z = geo.size, c = geo.colors;
      const by = { crit: [], warn: [], live: [], degraded: [], stale: [], offline: [] };
      for (const h of hosts) {
        if (h.cellG == null) continue;
        const gr = geo.grids[h.cellG];
        const x = gr.x + (h.cellI % gr.per) * (z + GAP), y = gr.y + Math.floor(h.cellI / gr.per) * (z + GAP);
        if (clear) ctx.clearRect(x - 1, y - 1, z + 2, z + 2);
        (by[h.cellS] || by.live).push(x, y);
      }
      const r = z / 2 - 1;
      for (const s in by) {
        const p = by[s];
        if (p.length === 0) continue;
        ctx.beginPath();
        for (let i = 0; i < p.length; i += 2) {
          const x = p[i], y = p[i + 1], cx = x + z / 2, cy = y + z / 2;
          if (s === 'crit') { ctx.moveTo(cx, y); ctx.lineTo(x + z, y + z); ctx.lineTo(x, y + z); ctx.closePath(); }
          else if (s === 'warn') { ctx.moveTo(cx, y); ctx.lineTo(x + z, cy); ctx.lineTo(cx, y + z); ctx.lineTo(x, cy); ctx.closePath(); }
          else if (s === 'live') ctx.rect(x, y, z, z);
          else if (s === 'stale') ctx.rect(x + 1, y + 1, z - 2, z - 2);
          else { ctx.moveTo(cx + r, cy); ctx.arc(cx, cy, r, 0, 2 * Math.PI); }
        }
        if (FILL[s]) { ctx.fillStyle = c[FILL[s]]; ctx.fill(); continue; }
        ctx.strokeStyle = c[LINE[s]];
        ctx.lineWidth = 2;
        ctx.stroke();
        if (s !== 'degraded') continue;
        // degraded: a ring with its left half filled
        ctx.beginPath();
        for (let i = 0; i < p.length; i += 2) {
          const cx = p[i] + z / 2, cy = p[i + 1] + z / 2;
          ctx.moveTo(cx, cy + r);
          ctx.arc(cx, cy, r, Math.PI / 2, 3 * Math.PI / 2);
          ctx.closePath();
        }
        ctx.fillStyle = c.warn;
        ctx.fill();
      }
    }
    // A resize, the view shown again or the theme changing moves or
    // recolours the cells: measured and drawn again. (The observer's
    // callback comes after the frame's layout: reading it costs nothing.)
    // The observer's first call comes in the frame the map first shows,
    // after set() has measured and drawn it: 10,000 shapes drawn again for
    // nothing. Drawn again only if the measures changed.
    const geoKey = () => (geo ? [geo.dpr, geo.size, canvas.width, canvas.height, ...geo.grids.flatMap((g) => [g.x, g.y, g.per]), Object.values(geo.colors)].join() : '');
    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        const was = geoKey();
        fit();
        if (!was || geoKey() !== was) paintAll();
      }).observe(root);
    }
    if (window.matchMedia) window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { fit(); paintAll(); });

    // place puts a cell for each host of list in parent, in order, and
    // takes out the others. It walks the siblings: children[i] after an
    // insertion costs a walk from the start, which at 10,000 cells is
    // seconds. The cells past the last one in place go in at once, off the
    // document: 10,000 insertions into the page, each invalidating its
    // style, took a second of the first render.
    function place(parent, list) {
      let at = parent.firstElementChild;
      let k = 0;
      for (; k < list.length && at; k++) {
        const node = cellOf(list[k]);
        if (node === at) at = at.nextElementSibling;
        else parent.insertBefore(node, at);
      }
      while (at) {
        const next = at.nextElementSibling;
        if (at.__host && at.__host.cell === at) at.__host.cell = null;
        at.remove();
        at = next;
      }
      if (k < list.length) {
        const frag = document.createDocumentFragment();
        for (; k < list.length; k++) frag.append(cellOf(list[k]));
        parent.append(frag);
      }
    }
    // cells gives the grids the cells of the first `limit` hosts.
    function cells() {
      place(grid, order.slice(0, Math.min(nUp, limit)));
      place(downGrid, limit > nUp ? order.slice(nUp, Math.min(order.length, limit)) : []);
      if (!current || !current.__host || !current.isConnected) {
        if (current) current.tabIndex = -1;
        current = order.length ? order[0].cell : null;
      }
      if (current) current.tabIndex = 0;
    }
    // While a state comes in parts, the cells wait: each part resizes the
    // map's cells (more hosts on one screen) and, sorted other than by name
    // (the parts come by name), interleaves its hosts with those before;
    // cells grown for a part were moved or taken out again at the next. The
    // canvas shows every host meanwhile; set() grows them again once the
    // last part is in.
    function grow() {
      growing = false;
      if (limit === Infinity || api.receiving()) return;
      limit += Math.min(limit, CHUNK);
      if (limit >= order.length) limit = Infinity;
      cells();
      if (limit !== Infinity) { growing = true; requestAnimationFrame(grow); }
    }

    // Cells as big as the screen allows, every host on it (the page at its
    // top): the largest size whose rows, the fleet's and the Down group's,
    // fit under the map's top. It measures the page before any cell moves.
    function fit() {
      const w = root.clientWidth;
      if (w === 0) { geo = null; return; }
      const top = grid.getBoundingClientRect().top + window.scrollY;
      const h = Math.max(120, window.innerHeight - top - (nDown ? 44 : 0) - 12);
      let size = 36;
      for (; size > 6; size--) {
        const per = Math.max(1, Math.floor((w + GAP) / (size + GAP)));
        if ((rowsOf(nUp, per) + rowsOf(nDown, per)) * (size + GAP) <= h) break;
      }
      measure(size);
    }

    function set(list, down) {
      const next = list.concat(down);
      // Whether any host changed place: then the whole canvas is drawn.
      let moved = next.length !== order.length || list.length !== nUp;
      for (let i = 0; !moved && i < next.length; i++) moved = next[i] !== order[i];
      downHead.hidden = down.length === 0;
      api.setText(downHead, 'Down (' + down.length + ')');
      // Measuring lays out the page: only when the number of cells changed,
      // and before any cell comes, goes or moves.
      if (nUp !== list.length || nDown !== down.length || !geo) {
        nUp = list.length;
        nDown = down.length;
        fit();
      }
      if (moved) {
        const seen = new Set(next);
        for (const h of order) {
          if (seen.has(h)) continue;
          if (h.cell) { h.cell.remove(); h.cell = null; }
          h.cellG = null;
          h.cellS = null;
        }
      }
      // Many hosts without a cell (a fresh map, back from another view, or
      // the later parts of a state) get their cells a chunk a frame, after
      // those that have one; the canvas has every host at once.
      let without = 0;
      for (const h of next) if (!h.cell) without++;
      if (without > FIRST) limit = Math.min(limit, Math.max(FIRST, next.length - without));
      order = next;
      if (order.length === 0) canvas.remove();
      else if (!canvas.isConnected) root.prepend(canvas);
      for (let i = 0; i < order.length; i++) {
        const h = order[i];
        h.cellG = i < nUp ? 0 : 1;
        h.cellI = i < nUp ? i : i - nUp;
        if (h.cellS == null) h.cellS = api.statusOf(h);
      }
      cells();
      if (limit !== Infinity && !growing) { growing = true; requestAnimationFrame(grow); }
      // A status that changed in place is drawn by render; a cell that
      // moved moves the ones after it: the whole map is drawn again.
      if (moved) paintAll();
    }

    function move(to) {
      if (!to) return;
      if (current) current.tabIndex = -1;
      current = to;
      to.tabIndex = 0;
      to.focus();
    }

    function cols() {
      const first = grid.firstElementChild;
      if (!first) return 1;
      const size = first.getBoundingClientRect().width + 3;
      return Math.max(1, Math.floor((grid.clientWidth + 3) / size));
    }

    root.addEventListener('keydown', (ev) => {
      const a = ev.target;
      if (!a.classList || !a.classList.contains('cell') || !a.__host) return;
      const i = order.indexOf(a.__host);
      let j = -1;
      if (ev.key === 'ArrowRight') j = i + 1;
      else if (ev.key === 'ArrowLeft') j = i - 1;
      else if (ev.key === 'ArrowDown') j = i + cols();
      else if (ev.key === 'ArrowUp') j = i - cols();
      else if (ev.key === 'Home') j = 0;
      else if (ev.key === 'End') j = order.length - 1;
      else return;
      ev.preventDefault();
      j = Math.max(0, Math.min(order.length - 1, j));
      if (order[j]) move(order[j].cell);
    });

    let tipHost = null;
    function showTip(h) {
      tipHost = h;
      const lines = api.details(h);
      if (tip.__t !== lines.join('\n')) {
        tip.__t = lines.join('\n');
        tip.replaceChildren(...lines.map((s, k) => el(k === 0 ? 'b' : 'div', '', s)));
      }
      tip.hidden = false;
      const r = h.cell.getBoundingClientRect();
      const box = root.getBoundingClientRect();
      const tw = tip.offsetWidth, th = tip.offsetHeight;
      let x = r.right + 8 - box.left, y = r.top - box.top;
      if (r.right + 8 + tw > window.innerWidth) x = r.left - 8 - tw - box.left;
      if (r.top + th > window.innerHeight) y = r.bottom - th - box.top;
      tip.style.left = Math.max(0, x) + 'px';
      tip.style.top = Math.max(0, y) + 'px';
    }
    function hideTip() { tipHost = null; tip.hidden = true; ring.hidden = true; }
    function showRing(a) {
      const r = a.getBoundingClientRect(), box = root.getBoundingClientRect();
      ring.style.left = (r.left - box.left - 4) + 'px';
      ring.style.top = (r.top - box.top - 4) + 'px';
      ring.style.width = (r.width + 8) + 'px';
      ring.style.height = (r.height + 8) + 'px';
      ring.hidden = false;
    }
    const cellHost = (t) => (t && t.classList && t.classList.contains('cell') ? t.__host : null);
    root.addEventListener('pointerover', (ev) => { const h = cellHost(ev.target); if (h) showTip(h); });
    root.addEventListener('pointerleave', () => { if (!root.contains(document.activeElement)) hideTip(); });
    root.addEventListener('focusin', (ev) => {
      const h = cellHost(ev.target);
      if (!h) return;
      if (current && current !== ev.target) current.tabIndex = -1;
      current = ev.target;
      current.tabIndex = 0;
      showTip(h);
      if (ev.target.matches(':focus-visible')) showRing(ev.target);
      else ring.hidden = true;
    });
    root.addEventListener('focusout', (ev) => { if (!root.contains(ev.relatedTarget)) hideTip(); });

    return {
      el: root,
      set,
      render,
      fit() { fit(); paintAll(); },
      shown: () => order,
      clear() { set([], []); hideTip(); },
      reveal(h) {
        if (!h.cell && limit !== Infinity) { limit = Infinity; cells(); }
        if (h.cell) { move(h.cell); return h.cell; }
        return null;
      },
    };
  }

  window.sysmonViews = { windowed, table, map };
})();
