/* kbdesk chat desk: what the chat page (chat.js), the agent page
 * (agent.js) and the other staff pages share: DOM helpers (with those of
 * shared/www/dom.js, which the search page shares), the snippet renderer,
 * labels, time formatting, storage, the WebSocket link with automatic
 * reconnection, the call to the JSON API (api) and the staff pages'
 * navigation (STAFF_PAGES, filled in at load).
 *
 * Safety rule (as on the search page): every string that comes from the
 * server is inserted as text (textContent / text nodes). The only markup we
 * accept is a snippet's <mark>...</mark>, rebuilt node by node
 * (snippetNodes); nothing is ever assigned to innerHTML. */
'use strict';

window.kbdesk = (() => {
  /* ---------- DOM (shared/www/dom.js) ---------- */

  const { $, el, decodeEntities, snippetNodes, firstLine } = window.kbdom;

  /* Replaces elem's children like el() builds them: nested arrays are
   * flattened, null / false / '' skipped, strings become text nodes. */
  function fill(elem, ...kids) {
    elem.replaceChildren(...kids.flat(Infinity)
      .filter((c) => c !== null && c !== undefined && c !== false && c !== '')
      .map((c) => (c instanceof Node ? c : document.createTextNode(String(c)))));
    return elem;
  }

  /* A Markdown-ish text shown as plain lines: code fences and emphasis
   * markers dropped, line breaks kept (the element has white-space: pre-line). */
  function plainText(text) {
    return String(text || '').replace(/\r\n?/g, '\n').split('\n')
      .filter((l) => !/^\s*(`{3,}|~{3,})/.test(l))
      .map((l) => l.replace(/`|\*\*/g, '').replace(/^(\s*)#+\s*/, '$1'))
      .join('\n').replace(/\n{3,}/g, '\n\n').trim();
  }

  function shorten(text, max) {
    const chars = Array.from(String(text || ''));
    return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : chars.join('');
  }

  /* ---------- labels ---------- */

  const KINDS = ['article', 'known_error', 'standard'];
  const KIND_LABEL = { article: kbt('common.001'), known_error: kbt('common.002'), standard: kbt('common.003') };
  const KE_STATUS_LABEL = { open: kbt('common.004'), workaround: kbt('common.005'), resolved: kbt('common.006') };
  const TICKET_STATUS_LABEL = {
    new: kbt('common.007'), assigned: kbt('common.008'), resolved: kbt('common.009'), reopened: kbt('common.010'), closed: kbt('common.011'),
    pending: kbt('x.status_pending'),
  };
  /* problems (016_problems.sql) and knowledge items (knowledge_items.state) */
  const PROBLEM_STATUS_LABEL = {
    new: kbt('pr.005'), investigating: kbt('pr.006'), known_error: kbt('common.002'), resolved: kbt('common.006'), closed: kbt('common.011'),
  };
  const KB_STATE_LABEL = {
    draft: kbt('kn.009'), in_review: kbt('kn.010'), approved: kbt('kn.011'), published: kbt('kn.012'), retired: kbt('kn.013'),
  };
  const PRIORITY_LABEL = { 1: kbt('common.012'), 2: kbt('common.013'), 3: kbt('common.014'), 4: kbt('common.015') };
  const IMPACT_LABEL = { 1: kbt('common.016'), 2: kbt('common.017'), 3: kbt('common.018') };
  const URGENCY_LABEL = { 1: kbt('common.019'), 2: kbt('common.020'), 3: kbt('common.021') };

  /* "P2" / 2 / "2" -> 2; anything else -> 0. */
  function priorityNum(p) {
    const n = parseInt(String(p === null || p === undefined ? '' : p).replace(/^P/i, ''), 10);
    return n >= 1 && n <= 4 ? n : 0;
  }

  function priorityBadge(p, testid) {
    const n = priorityNum(p);
    return el('span', { class: `badge prio prio-${n || 'x'}`, 'data-testid': testid || 'priority', title: kbt('common.022') },
      n ? `P${n} ${PRIORITY_LABEL[n]}` : String(p || '—'));
  }

  function statusBadge(s, testid) {
    return el('span', { class: `badge tstatus tstatus-${/^[a-z_]+$/.test(s) ? s : 'x'}`, 'data-testid': testid || 'ticket-status' },
      TICKET_STATUS_LABEL[s] || String(s || '—'));
  }

  /* ---------- time ---------- */

  /* Seconds since the epoch (number or numeric string), ISO 8601 or
   * milliseconds -> Date, or null. */
  function toDate(v) {
    if (v === null || v === undefined || v === '') return null;
    if (typeof v === 'number' || /^\d+(\.\d+)?$/.test(String(v))) {
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) return null;
      return new Date(n < 1e11 ? n * 1000 : n);
    }
    const d = new Date(String(v));
    return Number.isNaN(d.getTime()) ? null : d;
  }

  const pad = (n) => String(n).padStart(2, '0');

  /* 14:05 today, 5月12日 14:05 otherwise. */
  function fmtTime(v) {
    const d = toDate(v);
    if (!d) return '';
    const now = new Date();
    const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
    if (d.toDateString() === now.toDateString()) return hm;
    const md = kbt('common.023', [d.getMonth() + 1, d.getDate(), hm]);
    return d.getFullYear() === now.getFullYear() ? md : kbt('common.024', [d.getFullYear(), md]);
  }

  /* A duration in seconds as 1天2小时, 3小时05分, 12分30秒, 45秒. */
  function fmtDuration(sec, coarse) {
    let s = Math.max(0, Math.floor(sec));
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    if (d) return kbt('common.025', [d, h]);
    if (coarse) return h ? kbt('common.026', [h, m]) : m ? kbt('common.027', [m]) : kbt('common.028');
    if (h) return kbt('common.029', [h, pad(m)]);
    if (m) return kbt('common.030', [m, pad(s)]);
    return kbt('common.031', [s]);
  }

  /* {text, cls} for a deadline: "剩 12分30秒" or "已超时 3分05秒"
   * (coarse: "剩 12分钟"). */
  function countdown(due, now, coarse) {
    const d = toDate(due);
    if (!d) return { text: '—', cls: '' };
    const left = (d.getTime() - (now || Date.now())) / 1000;
    if (left < 0) return { text: kbt('common.032', [fmtDuration(-left, coarse)]), cls: 'overdue' };
    return { text: kbt('common.033', [fmtDuration(left, coarse)]), cls: left < 15 * 60 ? 'soon' : '' };
  }

  /* ---------- storage (may be disabled: then nothing is remembered) ---------- */

  function store(kind) {
    const s = () => { try { return window[kind]; } catch { return null; } };
    return {
      get(key, fallback) {
        try {
          const v = s() && s().getItem(key);
          return v === null || v === undefined ? fallback : JSON.parse(v);
        } catch { return fallback; }
      },
      set(key, value) {
        try {
          if (value === null || value === undefined) s().removeItem(key);
          else s().setItem(key, JSON.stringify(value));
        } catch { /* storage full or disabled */ }
      },
    };
  }
  const local = store('localStorage');
  const session = store('sessionStorage');

  /* A client id for a message: random, 22 URL-safe characters. Works on
   * plain http (crypto.randomUUID needs a secure context). */
  function clientId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return 'c-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  /* ---------- the WebSocket link ---------- */

  /* One WebSocket to /ws on the page's own host, reopened after any loss
   * with exponential backoff (0.5 s doubling to 15 s, with jitter). The
   * page's onOpen sends hello/login (and resume); once the server welcomes
   * it the page calls established(), which resets the backoff.
   *
   * opts: onOpen(), onFrame(obj), onClose(), onStatus(state, info) where
   * state is 'connecting' | 'open' | 'waiting' (info.delay ms) | 'stopped'. */
  class Link {
    constructor(opts) {
      this.opts = opts;
      this.ws = null;
      this.attempt = 0;
      this.timer = 0;
      this.openTimer = 0;
      this.stopped = true;
      this.retryAt = 0;
      this.hbTimer = 0;
      this.pingAt = 0;
      this.lastHeard = 0;
      window.addEventListener('online', () => { if (!this.stopped && !this.isOpen()) this.connectNow(); });
    }

    url() {
      const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
      return `${proto}//${location.host}/ws`;
    }

    isOpen() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

    start() {
      this.stopped = false;
      if (!this.ws) this.connectNow();
    }

    /* Closes for good (logout, new chat); start() opens again. */
    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      clearTimeout(this.openTimer);
      clearInterval(this.hbTimer);
      const ws = this.ws;
      this.ws = null;
      if (ws) { ws.onclose = null; ws.onmessage = null; ws.onerror = null; ws.onopen = null; try { ws.close(1000); } catch { /* ignore */ } }
      this.status('stopped');
    }

    connectNow() {
      clearTimeout(this.timer);
      if (this.stopped) return;
      if (this.ws) {
        const old = this.ws;
        this.ws = null;
        old.onclose = null; old.onmessage = null; old.onerror = null; old.onopen = null;
        try { old.close(); } catch { /* ignore */ }
      }
      this.status('connecting');
      let ws;
      try {
        ws = new WebSocket(this.url());
      } catch {
        this.lost();
        return;
      }
      this.ws = ws;
      /* a connection that neither opens nor fails within 10 s is retried */
      clearTimeout(this.openTimer);
      this.openTimer = setTimeout(() => { if (this.ws === ws && ws.readyState !== WebSocket.OPEN) this.lost(); }, 10000);
      ws.onopen = () => {
        if (this.ws !== ws) return;
        clearTimeout(this.openTimer);
        this.status('open');
        this.beat(ws);
        this.opts.onOpen();
      };
      ws.onmessage = (ev) => {
        if (this.ws !== ws || typeof ev.data !== 'string') return;
        this.lastHeard = Date.now();
        let obj;
        try { obj = JSON.parse(ev.data); } catch { return; }
        if (!obj || typeof obj !== 'object' || typeof obj.type !== 'string') return;
        if (obj.type === 'pong' && typeof obj.id === 'string' && obj.id.startsWith('hb-')) return;
        this.opts.onFrame(obj);
      };
      ws.onclose = () => { if (this.ws === ws) this.lost(); };
      ws.onerror = () => { /* onclose follows */ };
    }

    /* Heartbeat: a ping frame every 25 s; when nothing at all was heard
     * for 10 s after one, the connection is dead (a half-open TCP
     * connection after a network change) and is replaced. */
    beat(ws) {
      clearInterval(this.hbTimer);
      this.lastHeard = Date.now();
      let n = 0;
      this.hbTimer = setInterval(() => {
        if (this.ws !== ws) { clearInterval(this.hbTimer); return; }
        if (this.pingAt && this.lastHeard < this.pingAt && Date.now() - this.pingAt > 10000) {
          this.lost();
          return;
        }
        if (Date.now() - this.lastHeard > 20000 && !(this.pingAt > this.lastHeard)) {
          this.pingAt = Date.now();
          this.send({ type: 'ping', id: `hb-${++n}` });
        }
      }, 5000);
    }

    lost() {
      clearTimeout(this.openTimer);
      clearInterval(this.hbTimer);
      this.pingAt = 0;
      const ws = this.ws;
      this.ws = null;
      if (ws) { ws.onclose = null; ws.onmessage = null; ws.onerror = null; ws.onopen = null; try { ws.close(); } catch { /* ignore */ } }
      if (this.opts.onClose) this.opts.onClose();
      if (this.stopped) return;
      const base = Math.min(15000, 500 * 2 ** Math.min(this.attempt, 5));
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.attempt++;
      this.retryAt = Date.now() + delay;
      this.status('waiting', { delay });
      this.timer = setTimeout(() => this.connectNow(), delay);
    }

    /* The server accepted hello/login: a later loss starts again from 0.5 s. */
    established() { this.attempt = 0; }

    send(obj) {
      if (!this.isOpen()) return false;
      try { this.ws.send(JSON.stringify(obj)); return true; } catch { return false; }
    }

    status(state, info) { if (this.opts.onStatus) this.opts.onStatus(state, info || {}); }
  }

  /* Shows the link's state in a status element (data-state for the style). */
  function connStatus(elem) {
    let tick = 0;
    return (state, info) => {
      clearInterval(tick);
      elem.dataset.state = state;
      if (state === 'open') elem.textContent = kbt('common.034');
      else if (state === 'connecting') elem.textContent = kbt('common.035');
      else if (state === 'stopped') elem.textContent = kbt('common.036');
      else if (state === 'waiting') {
        /* the live region says it once; the seconds are not announced */
        const secs = el('span', { 'aria-hidden': 'true' });
        elem.replaceChildren(kbt('common.037'), secs);
        const end = Date.now() + (info.delay || 0);
        const show = () => {
          const s = Math.ceil((end - Date.now()) / 1000);
          secs.textContent = s > 0 ? kbt('common.038', [s]) : '…';
        };
        show();
        if (info.delay > 1500) tick = setInterval(show, 1000);
      }
    };
  }

  /* ---------- errors ---------- */

  /* Chinese wording for the server's error codes; the server's message is
   * kept as detail for codes we do not know. */
  const ERROR_TEXT = {
    bad_json: kbt('common.039'),
    bad_encoding: kbt('common.040'),
    bad_frame: kbt('common.039'),
    too_large: kbt('common.041'),
    not_object: kbt('common.039'),
    missing_field: kbt('common.042'),
    bad_field: kbt('common.043'),
    unknown_type: kbt('common.044'),
    rate_limited: kbt('common.045'),
    overloaded: kbt('common.046'),
    not_authenticated: kbt('common.047'),
    already_authenticated: kbt('common.048'),
    login_failed: kbt('common.049'),
    session_expired: kbt('common.050'),
    forbidden: kbt('common.051'),
    not_found: kbt('common.052'),
    already_taken: kbt('common.053'),
    invalid_state: kbt('common.054'),
    already_rated: kbt('common.055'),
    db_unavailable: kbt('common.056'),
    internal: kbt('common.057'),
    too_many_attempts: kbt('common.058'),
    try_later: kbt('common.059'),
    conflict: kbt('x.err_conflict'),
  };


  function errorText(f) {
    const code = f && typeof f.code === 'string' ? f.code : '';
    const msg = f && typeof f.message === 'string' ? f.message : '';
    const text = ERROR_TEXT[code] || msg || kbt('common.060');
    /* retry_after: seconds the server asks the client to wait */
    const wait = f && Number.isInteger(f.retry_after) && f.retry_after > 0 ? f.retry_after : 0;
    return wait ? kbt('common.063', [text, wait >= 120 ? Math.ceil(wait / 60) + kbt('common.061') : wait + kbt('common.062')]) : text;
  }

  /* Nodes for an error box: the Chinese text, and the server's own words
   * (and code) in small print. */
  function errorNodes(prefix, f) {
    const code = f && typeof f.code === 'string' ? f.code : '';
    const msg = f && typeof f.message === 'string' ? f.message : '';
    const nodes = [];
    if (prefix) nodes.push(el('strong', null, prefix));
    nodes.push(errorText(f));
    if (ERROR_TEXT[code] && (msg || code)) nodes.push(el('span', { class: 'err-detail' }, [code, msg].filter(Boolean).join(': ')));
    return nodes;
  }

  /* ---------- chatdesk's JSON API (/api/v1) ---------- */

  /* One call to the API with a bearer token (by default the agent pages'
   * session; null: none): body, when not null or undefined, goes as JSON;
   * headers: more request headers (If-Match, Idempotency-Key). Resolves,
   * never rejects, to {status, body}: the HTTP status and the answer's
   * JSON (null when it has none), or status 0 when the server could not
   * be reached (body {error: {code: 'network', message}}); with raw, a 2xx
   * answer also gives the Response itself (response: a CSV). */
  async function apiCall(method, path, body, { token = session.get('kbdesk.agent.session', null), raw = false, headers: more = {} } = {}) {
    const headers = { ...more };
    if (token) headers.authorization = `Bearer ${token}`;
    const send = body !== null && body !== undefined;
    if (send) headers['content-type'] = 'application/json';
    let r;
    try {
      r = await fetch(path, { method, headers, body: send ? JSON.stringify(body) : undefined });
    } catch (e) {
      return { status: 0, body: { error: { code: 'network', message: e.message } } };
    }
    if (r.ok && raw) return { status: r.status, body: null, response: r };
    const text = await r.text().catch(() => '');
    let j = null;
    try { j = text ? JSON.parse(text) : null; } catch { j = null; }
    return { status: r.status, body: j };
  }

  /* apiCall for the usual case: resolves to the answer's JSON (with raw,
   * the Response), and rejects when the answer is not 2xx, or the server
   * could not be reached, with an Error whose message is the API's
   * error.message (else "HTTP <status>", or the network's words), and
   * .status (0: not reached), .code (the API's error.code) and .body. */
  async function api(method, path, body, opts = {}) {
    const r = await apiCall(method, path, body, opts);
    if (r.status >= 200 && r.status < 300) return opts.raw ? r.response : r.body;
    const err = r.body && r.body.error ? r.body.error : {};
    throw Object.assign(new Error(typeof err.message === 'string' && err.message ? err.message : `HTTP ${r.status}`),
      { status: r.status, code: err.code, body: r.status ? r.body : null });
  }

  /* ---------- the staff pages' navigation ---------- */

  /* The staff pages, in the order of the navigation every one of them
   * shows (one list: a new page is one line here and a <nav data-staff-nav>
   * in its header). key: the page's own data-staff-nav value; testid: the
   * link's data-testid. The audit log and the administration page refuse
   * anyone but an admin themselves, so the links are the same for all. */
  const STAFF_PAGES = [
    { key: 'desk', href: 'agent.html', label: 'audit.003', testid: 'to-desk' },
    { key: 'knowledge', href: 'knowledge.html', label: 'agent.142', testid: 'to-knowledge' },
    { key: 'problems', href: 'problems.html', label: 'agent.139', testid: 'to-problems' },
    { key: 'cis', href: 'cis.html', label: 'agent.140', testid: 'to-cis' },
    { key: 'reports', href: 'reports.html', label: 'agent.141', testid: 'to-reports' },
    { key: 'audit', href: 'audit.html', label: 'admin.to_audit', testid: 'to-audit' },
    { key: 'admin', href: 'admin.html', label: 'admin.to_admin', testid: 'to-admin' },
  ];

  /* Fills each <nav data-staff-nav="KEY"> with the links to the staff
   * pages; KEY's own is marked as the current page (aria-current). */
  function staffNav() {
    for (const nav of document.querySelectorAll('nav[data-staff-nav]')) {
      nav.classList.add('staff-nav');
      nav.setAttribute('aria-label', kbt('common.064'));
      fill(nav, STAFF_PAGES.map((p) => {
        const a = el('a', { class: 'btn btn-sm', href: p.href, 'data-testid': p.testid }, kbt(p.label));
        if (p.key === nav.dataset.staffNav) a.setAttribute('aria-current', 'page');
        return a;
      }));
    }
  }
  staffNav();

  return {
    $, el, fill, decodeEntities, snippetNodes, firstLine, plainText, shorten,
    KINDS, KIND_LABEL, KE_STATUS_LABEL, TICKET_STATUS_LABEL, PROBLEM_STATUS_LABEL, KB_STATE_LABEL, PRIORITY_LABEL, IMPACT_LABEL, URGENCY_LABEL,
    priorityNum, priorityBadge, statusBadge,
    toDate, fmtTime, fmtDuration, countdown,
    local, session, clientId, Link, connStatus, ERROR_TEXT, errorText, errorNodes, api, apiCall,
  };
})();
