/* kbdesk agent page: log in, watch the live queue, take a ticket, chat
 * with the requester, link knowledge, resolve. Protocol:
 * chatdesk/PROTOCOL.md (the "Agent" part).
 *
 * The session token, the open ticket and the unacknowledged replies live in
 * sessionStorage: after a reload or a network blip the page logs in again
 * with the session, reloads the queue and the open ticket, and resends the
 * replies with their client ids (the server stores each id once; messages
 * are deduplicated by seq). So do the drafts: a reply or a resolution typed
 * and not sent stays with its ticket while the agent looks at others, and
 * across a reload, until it is sent or the agent logs out.
 *
 * The workspace (ticket list and search, editing fields, internal notes,
 * transfers, the URL hash) is tickets.js, loaded first: it registers
 * window.kbdeskWorkspace, which this file calls at the points marked "ws".
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { $, el } = K;
  /* ws: the workspace (tickets.js); every call is guarded, so the page works without it */
  const WS = window.kbdeskWorkspace || null;

  const SESSION_KEY = 'kbdesk.agent.session';
  const CURRENT_KEY = 'kbdesk.agent.current';
  const OUTBOX_KEY = 'kbdesk.agent.outbox';
  const DRAFTS_KEY = 'kbdesk.agent.drafts';
  const TYPING_EVERY_MS = 3000;
  const TYPING_IDLE_MS = 4000;
  const TYPING_SHOW_MS = 8000;
  const RETRY_MS = 4000;
  const DOC_ID_RE = /^[A-Za-z][A-Za-z0-9_.-]*-[A-Za-z0-9_.:-]+$/;

  const ui = {
    who: $('who'), conn: $('conn'), logout: $('logout'), main: $('main'),
    login: $('login'), loginForm: $('login-form'), username: $('username'), password: $('password'),
    loginError: $('login-error'), loginButton: $('login-button'),
    desk: $('desk'), deskError: $('desk-error'), queue: $('queue'), queueCount: $('queue-count'), queueEmpty: $('queue-empty'),
    placeholder: $('t-placeholder'), content: $('t-content'), back: $('t-back'), number: $('t-number'), badges: $('t-badges'),
    take: $('t-take'), summary: $('t-summary'), meta: $('t-meta'), tmsg: $('t-msg'),
    log: $('t-log'), typing: $('t-typing'), replyForm: $('reply-form'), reply: $('reply-input'), replySend: $('reply-send'),
    replyNote: $('reply-note'), attachInput: $('t-attach-input'), ticketAtts: $('t-attachments'), kbForm: $('kb-form'), kbQ: $('kb-q'), kbNote: $('kb-note'), kbResults: $('kb-results'),
    seen: $('seen'), links: $('links'), events: $('events'),
    resolveForm: $('resolve-form'), resolution: $('resolution'), resolveButton: $('resolve-button'), resolveMsg: $('resolve-msg'),
    announce: $('announce'),
  };

  /* ---------- state ---------- */

  const me = { name: '', username: '' };
  let ready = false;             // logged in on the current connection
  let loggingIn = false;         // a password login is under way
  let session = K.session.get(SESSION_KEY, null);
  let outbox = K.session.get(OUTBOX_KEY, []) || [];   // [{id, ticket, text}]
  const queue = new Map();       // number -> ticket (open tickets)
  let queueLoaded = false;
  const queueMsg = new Map();    // number -> {text, cls}: inline messages on queue items
  const unread = new Map();      // number -> count of requester messages not seen
  let reqN = 0;

  /* the open ticket */
  let cur = null;                // {number, ticket, msgs: Map seq->li, suggestions, seen, links, events, loaded}
  const pendingTake = new Set();

  const saveOutbox = () => K.session.set(OUTBOX_KEY, outbox);

  /* drafts: ticket number -> {reply, resolution}, the text boxes' contents
   * not sent yet */
  let drafts = K.session.get(DRAFTS_KEY, {}) || {};
  /* sets the parts of ticket number's draft in part ({reply} and/or {resolution}) */
  function saveDraft(number, part) {
    const d = { reply: '', resolution: '', ...drafts[number], ...part };
    if (d.reply.trim() || d.resolution.trim()) drafts[number] = d;
    else delete drafts[number];
    K.session.set(DRAFTS_KEY, drafts);
  }
  const saveCurrentDraft = () => { if (cur) saveDraft(cur.number, { reply: ui.reply.value, resolution: ui.resolution.value }); };

  /* ---------- the connection ---------- */

  const link = new K.Link({
    onOpen: () => {
      ready = false;
      if (session) link.send({ type: 'login', id: 'login', session });
      else if (loggingIn) sendPasswordLogin();
    },
    onFrame: handle,
    onClose: () => { ready = false; showTyping(false); },
    onStatus: K.connStatus(ui.conn),
  });

  let pendingLogin = null; // {username, password} until answered (kept in memory only)
  function sendPasswordLogin() {
    if (pendingLogin) link.send({ type: 'login', id: 'login', username: pendingLogin.username, password: pendingLogin.password });
  }

  const send = (f) => ready && link.send(f);
  const rid = (kind, key) => `${kind}:${key}:${++reqN}`;
  /* "take:INC-000001:7" -> ["take", "INC-000001"] (a key may hold ':') */
  function parseId(id) {
    const a = id.indexOf(':');
    const b = id.lastIndexOf(':');
    return a > 0 && b > a ? [id.slice(0, a), id.slice(a + 1, b)] : [id, ''];
  }

  /* ---------- frames ---------- */

  function handle(f) {
    switch (f.type) {
      case 'welcome': onWelcome(f); break;
      case 'queue': onQueue(f); break;
      case 'queue_update': onQueueUpdate(f); break;
      case 'ticket': onTicket(f); break;
      case 'transcript': onTranscript(f); break;
      case 'suggestions': onSuggestions(f); break;
      case 'message': onMessage(f); break;
      case 'ack': onAck(f); break;
      case 'linked': onLinked(f); break;
      case 'search_results': onSearchResults(f); break;
      case 'doc': onDoc(f); break;
      case 'problem_update': if (window.kbdeskProblemUpdate) window.kbdeskProblemUpdate(f); break; /* agent_problems.js */
      case 'note': if (WS) WS.onNote(f); break;
      case 'viewers': onViewers(f); break;
      case 'typing': if (f.from === 'requester' && cur && f.ticket === cur.number) showTyping(f.active !== false); break;
      case 'error': onError(f); break;
      case 'sla_warning': case 'sla_breach': onSlaAlert(f); break;
      case 'major_incident': case 'major_update': if (window.kbdeskMajorFrame) window.kbdeskMajorFrame(f); break; /* agent_major.js */
      case 'logged_out': break;
      default:
    }
  }

  function onWelcome(f) {
    if (f.role && f.role !== 'agent' && f.role !== 'admin') {
      showLoginError(kbt('agent.001'));
      return;
    }
    ready = true;
    loggingIn = false;
    pendingLogin = null;
    ui.password.value = '';
    link.established();
    session = typeof f.session === 'string' ? f.session : session;
    K.session.set(SESSION_KEY, session);
    me.name = typeof f.name === 'string' ? f.name : '';
    me.username = typeof f.username === 'string' ? f.username : '';
    ui.who.textContent = me.name ? kbt('agent.002', [me.name]) : '';
    ui.who.hidden = !me.name;
    showDesk();
    hideDeskError();
    send({ type: 'queue', id: 'queue' });
    if (WS) WS.ready(workspaceApi);
    if (window.KN) KN.prefsPanel(document.querySelector('.top-right'), session, me);
    /* the ticket in the URL, else the one open before a reload: opened
     * again, neither taken nor released (reading changes nothing) */
    const reopen = (cur && cur.number) || (WS && WS.hashTicket()) || K.session.get(CURRENT_KEY, null);
    if (reopen) openTicket(reopen, { quiet: true });
    for (const o of outbox) send(replyFrame(o));
  }

  function onQueue(f) {
    queue.clear();
    for (const t of Array.isArray(f.tickets) ? f.tickets : []) if (t && typeof t.number === 'string') queue.set(t.number, t);
    queueLoaded = true;
    renderQueue();
  }

  const EVENT_TEXT = { new: kbt('agent.003'), taken: kbt('agent.004'), resolved: kbt('common.006'), reopened: kbt('agent.005'), closed: kbt('common.011'),
    pending: kbt('x.pending'), resumed: kbt('x.resumed') };

  function onQueueUpdate(f) {
    const t = f.ticket;
    if (!t || typeof t.number !== 'string') return;
    if (f.event === 'transferred' || f.event === 'assigned') {
      /* the queue is by team: ask the server for it again */
      send({ type: 'queue', id: 'queue' });
    } else {
      const open = ['new', 'assigned', 'pending', 'reopened'].includes(t.status);
      if (open) queue.set(t.number, t); else queue.delete(t.number);
    }
    if (window.KN) KN.onQueueUpdate(f, me, (n) => openTicket(n, { focus: true }));
    if (f.event === 'new') announce(kbt('agent.006', [t.number, K.shorten(t.summary, 60)]));
    else if (f.event === 'reopened' && t.agent === me.name) announce(kbt('agent.007', [t.number]));
    else if (f.event === 'resumed' && t.agent === me.name) announce(kbt('x.resumed_announce', [t.number]));
    if (f.event === 'taken' && t.agent && t.agent !== me.name && !pendingTake.has(t.number)) {
      queueMsg.set(t.number, { text: kbt('agent.008', [t.agent]), cls: 'muted' });
    }
    renderQueue();
    if (cur && cur.number === t.number) {
      cur.ticket = t;
      renderHead();
      if (f.event !== 'taken' || t.agent !== me.name) setTicketMsg(kbt('agent.010', [EVENT_TEXT[f.event] || kbt('agent.009')]), f.event === 'taken' && t.agent !== me.name ? 'err' : '');
      /* reload the history (events, links) */
      send({ type: 'open', id: rid('open', t.number), ticket: t.number });
    }
  }

  /* The answer to take or resolve (or open by a requester, unused here). */
  function onTicket(f) {
    if (typeof f.number !== 'string') return;
    const t = f;
    const open = ['new', 'assigned', 'pending', 'reopened'].includes(t.status);
    if (open) queue.set(t.number, t); else queue.delete(t.number);
    const id = typeof f.id === 'string' ? f.id : '';
    if (WS && /^(edit|transfer):/.test(id)) WS.onTicket(f);
    if (id.startsWith('take:')) {
      pendingTake.delete(t.number);
      queueMsg.set(t.number, { text: kbt('agent.011'), cls: 'good' });
      announce(kbt('agent.012', [t.number]));
      renderQueue();
      openTicket(t.number, { focus: true, msg: { text: kbt('agent.013'), cls: 'good' } });
      return;
    }
    if (id.startsWith('resolve:')) {
      ui.resolveButton.disabled = false;
      if (cur && cur.number === t.number) {
        ui.resolution.value = '';
        setResolveMsg(RESOLVED_TEXT, 'good');
      }
      saveDraft(t.number, { resolution: '' });
      announce(kbt('agent.014', [t.number]));
    }
    renderQueue();
    if (cur && cur.number === t.number) {
      cur.ticket = t;
      renderHead();
      send({ type: 'open', id: rid('open', t.number), ticket: t.number });
    }
  }

  function onTranscript(f) {
    const t = f.ticket;
    if (!t || typeof t.number !== 'string' || !cur || cur.number !== t.number) return;
    const first = !cur.loaded;
    cur.ticket = t;
    cur.loaded = true;
    cur.seen = Array.isArray(f.suggestions) ? f.suggestions.filter((s) => s && typeof s.id === 'string') : [];
    cur.links = Array.isArray(f.links) ? f.links.filter((l) => l && typeof l.item === 'string') : [];
    cur.events = Array.isArray(f.events) ? f.events : [];
    if (queue.has(t.number) || ['new', 'assigned', 'pending', 'reopened'].includes(t.status)) queue.set(t.number, t);
    if (first) ui.log.setAttribute('aria-busy', 'true');
    for (const m of Array.isArray(f.messages) ? f.messages : []) addMessage(m);
    ui.log.removeAttribute('aria-busy');
    unread.delete(t.number);
    renderQueue();
    renderHead();
    renderSide();
    if (WS) WS.onTranscript(f);
    if (first) scrollLog(true);
    loadAttachments(t.number);
  }

  /* The ticket's attachments (GET /api/v1/tickets/{number}/attachments):
   * those of messages go under their message, the ticket's own in the
   * attachments box above the reply form. */
  async function loadAttachments(number) {
    let items = [];
    try {
      items = (await K.api('GET', `/api/v1/tickets/${encodeURIComponent(number)}/attachments`, null, { token: session })).items || [];
    } catch { return; }
    if (!cur || cur.number !== number) return;
    for (const a of items) {
      if (!a.seq) continue;
      const li = cur.msgs.get(Number(a.seq));
      if (!li || li.querySelector(`.atts [data-id="${a.id}"]`)) continue;
      let row = li.querySelector('.atts');
      if (!row) { row = K.attach.row(session, [a]); if (row) li.append(row); } else { const n = K.attach.node(session, a); if (n) row.append(n); }
    }
    const own = items.filter((a) => !a.seq);
    ui.ticketAtts.replaceChildren(...(own.length ? [el('h3', null, kbt('attach.011')), K.attach.row(session, own)] : []));
  }

  /* an attachment to the open ticket: uploaded, then sent with a reply
   * (when the agent may reply) or attached to the ticket itself */
  async function attachFile(file) {
    if (!cur) return;
    const number = cur.number;
    try {
      const a = await K.attach.upload(session, file);
      if (!ui.reply.disabled) {
        const text = ui.reply.value.replace(/^\s+|\s+$/g, '') || kbt('attach.009', [a.name]);
        const o = { id: K.clientId(), ticket: number, text, att: [a.id], atts: [a] };
        outbox.push(o);
        saveOutbox();
        appendPending(o);
        ui.reply.value = '';
        saveDraft(number, { reply: '' });
        send(replyFrame(o));
        ui.replyNote.textContent = '';
        return;
      }
      await K.api('POST', `/api/v1/tickets/${encodeURIComponent(number)}/attachments`, { id: a.id }, { token: session });
      loadAttachments(number);
    } catch (e) {
      ui.replyNote.textContent = kbt('attach.012', [e.message]);
    }
  }

  function onSuggestions(f) {
    if (!cur || f.ticket !== cur.number) return;
    cur.suggestions = Array.isArray(f.items) ? f.items.filter((i) => i && typeof i.id === 'string') : [];
    renderKb();
  }

  function onMessage(f) {
    const number = typeof f.ticket === 'string' ? f.ticket : '';
    if (cur && number === cur.number && cur.loaded) {
      addMessage(f, true);
      if (f.from === 'requester') { showTyping(false); announce(kbt('x.kv', [f.name || kbt('agent.015'), K.shorten(f.text, 140)])); }
    } else if (number && f.from === 'requester') {
      unread.set(number, (unread.get(number) || 0) + 1);
      renderQueue();
      announce(kbt('agent.016', [number]));
    }
  }

  function onAck(f) {
    const o = outbox.find((x) => x.id === f.id);
    outbox = outbox.filter((x) => x.id !== f.id);
    saveOutbox();
    if (!cur || !o || o.ticket !== cur.number) return;
    const li = ui.log.querySelector(`li[data-id="${CSS.escape(f.id)}"]`);
    const seq = Number(f.seq);
    if (!li) return;
    if (Number.isInteger(seq) && cur.msgs.has(seq)) { li.remove(); return; } // arrived with the transcript already
    li.classList.remove('pending', 'failed');
    li.dataset.state = 'sent';
    if (Number.isInteger(seq)) { li.dataset.seq = String(seq); cur.msgs.set(seq, li); }
    const s = li.querySelector('.msg-state');
    if (s) { s.textContent = kbt('agent.017'); s.dataset.state = 'sent'; }
    const e = li.querySelector('.msg-err');
    if (e) e.remove();
  }

  function onLinked(f) {
    if (!cur || f.ticket !== cur.number) return;
    if (!cur.links.some((l) => l.item === f.item && l.relation === (f.relation || 'used'))) {
      cur.links.push({ item: f.item, relation: f.relation || 'used', by: me.name, at: Math.floor(Date.now() / 1000), title: f.title });
    }
    cur.linkMsg = { item: f.item, text: f.added === false ? kbt('agent.018') : kbt('agent.019'), cls: 'good' };
    announce(kbt('agent.020', [f.item]));
    renderSide();
  }

  function onError(f) {
    const id = typeof f.id === 'string' ? f.id : '';
    if (id === 'login') {
      if (pendingLogin) {
        loggingIn = false;
        pendingLogin = null;
        link.stop();
        showLogin(f.code === 'login_failed' ? kbt('agent.021') : K.errorText(f));
      } else if (f.code === 'session_expired' || f.code === 'login_failed' || f.code === 'forbidden') {
        session = null;
        K.session.set(SESSION_KEY, null);
        ready = false;
        link.stop();
        showLogin(kbt('agent.022'));
      } else if (session) {
        /* the database is away: try the session again a little later */
        showDeskError(kbt('agent.023'), f);
        setTimeout(() => { if (!ready && session && link.isOpen()) link.send({ type: 'login', id: 'login', session }); }, RETRY_MS);
      }
      return;
    }
    if (f.code === 'session_expired') {
      /* the session ran out or was ended elsewhere: this connection is
       * signed out; unacknowledged replies stay in the outbox and are
       * resent after the next login */
      session = null;
      K.session.set(SESSION_KEY, null);
      ready = false;
      pendingTake.clear();
      ui.resolveButton.disabled = false;
      link.stop();
      showLogin(kbt('agent.022'));
      return;
    }
    const [kind, key] = parseId(id);
    if (WS && (kind === 'edit' || kind === 'note' || kind === 'transfer')) { WS.onError(kind, key, f); return; }
    if (kind === 'search') {
      if (cur && cur.search && cur.search.id === id) {
        cur.search.pending = false;
        cur.search.items = [];
        cur.search.total = 0;
        cur.search.error = K.errorText(f);
        renderKb();
      }
      return;
    }
    if (kind === 'doc') {
      kb.docError(key, K.errorText(f));
      return;
    }
    if (kind === 'take') {
      pendingTake.delete(key);
      const text = f.code === 'already_taken'
        ? kbt('agent.024', [queue.get(key) && queue.get(key).agent ? kbt('x.paren', [queue.get(key).agent]) : ''])
        : K.errorText(f);
      queueMsg.set(key, { text, cls: 'err' });
      renderQueue();
      if (cur && cur.number === key) { setTicketMsg(text, 'err'); renderHead(); }
      announce(text);
      return;
    }
    if (kind === 'open') {
      if (cur && cur.number === key) {
        if (f.code === 'not_found' || f.code === 'forbidden') {
          setTicketMsg(kbt('agent.025', [key, K.errorText(f)]), 'err');
        } else setTicketMsg(kbt('agent.026', [K.errorText(f)]), 'err');
      }
      return;
    }
    if (kind === 'resolve') {
      ui.resolveButton.disabled = false;
      if (cur && cur.number === key) setResolveMsg(K.errorText(f), 'err');
      return;
    }
    if (kind === 'link') {
      if (cur) { cur.linkMsg = { item: key, text: K.errorText(f), cls: 'err' }; renderSide(); }
      return;
    }
    const o = outbox.find((x) => x.id === id);
    if (o) {
      const li = ui.log.querySelector(`li[data-id="${CSS.escape(id)}"]`);
      const retry = f.code === 'db_unavailable' || f.code === 'overloaded' || f.code === 'rate_limited';
      if (retry) setTimeout(() => { const x = outbox.find((y) => y.id === id); if (x) send(replyFrame(x)); }, RETRY_MS);
      else { outbox = outbox.filter((x) => x.id !== id); saveOutbox(); }
      if (li) markFailed(li, K.errorText(f), !retry, o);
      return;
    }
    if (id.startsWith('queue')) { showDeskError(kbt('agent.027'), f); return; }
    showDeskError('', f);
  }

  /* ---------- login / logout ---------- */

  function showLogin(error) {
    ui.login.hidden = false;
    ui.desk.hidden = true;
    ui.logout.hidden = true;
    ui.who.hidden = true;
    ui.loginButton.disabled = false;
    ui.loginButton.textContent = kbt('agent.028');
    if (error) showLoginError(error); else ui.loginError.hidden = true;
    (ui.username.value ? ui.password : ui.username).focus();
  }

  function showLoginError(text) {
    ui.loginError.textContent = text;
    ui.loginError.hidden = false;
    ui.loginButton.disabled = false;
    ui.loginButton.textContent = kbt('agent.028');
  }

  function showDesk() {
    const wasHidden = ui.desk.hidden;
    ui.login.hidden = true;
    ui.desk.hidden = false;
    ui.logout.hidden = false;
    if (wasHidden && !cur) ui.main.focus({ preventScroll: true });
  }

  ui.loginForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const username = ui.username.value.trim();
    const password = ui.password.value;
    if (!username || !password) {
      showLoginError(!username ? kbt('agent.029') : kbt('agent.030'));
      (!username ? ui.username : ui.password).focus();
      return;
    }
    ui.loginError.hidden = true;
    ui.loginButton.disabled = true;
    ui.loginButton.textContent = kbt('agent.031');
    pendingLogin = { username, password };
    loggingIn = true;
    session = null;
    if (link.isOpen()) sendPasswordLogin();
    else link.start();
  });

  ui.logout.addEventListener('click', () => {
    if (ready) link.send({ type: 'logout' });
    link.stop();
    ready = false;
    session = null;
    K.session.set(SESSION_KEY, null);
    K.session.set(CURRENT_KEY, null);
    outbox = [];
    saveOutbox();
    drafts = {};
    K.session.set(DRAFTS_KEY, null);
    closeTicket();
    queue.clear();
    queueLoaded = false;
    renderQueue();
    showLogin('');
  });

  /* ---------- queue ---------- */

  /* ---------- service levels: countdowns, badges, the timer's alerts (agent_sla.js) ---------- */

  const SLA_TARGET = { response: kbt('agent.032'), resolution: kbt('agent.033') };
  const { slaParts, slaNode, slaBadge, slaBrowserNotice } = K.agentSla;

  /* sla_warning / sla_breach: mark the ticket in the queue and say so. */
  function onSlaAlert(f) {
    const t = queue.get(f.ticket);
    const breach = f.type === 'sla_breach';
    if (t) {
      const was = t.sla && t.sla.state;
      t.sla = { ...(t.sla || {}), state: breach || was === 'breached' ? 'breached' : 'warning' };
      renderQueue();
    }
    const text = kbt('agent.040', [f.ticket, SLA_TARGET[f.target] || '', breach ? kbt('agent.038') : kbt('agent.039')]);
    announce(text);
    slaBrowserNotice(f.ticket, text);
  }

  const canTake = (t) => t.status === 'new' || (t.status === 'reopened' && !t.agent);
  const isMine = (t) => !!t.agent && t.agent === me.name;

  function renderQueue() {
    const focused = ui.queue.contains(document.activeElement) ? document.activeElement : null;
    const focusKey = focused ? [focused.closest('li') && focused.closest('li').dataset.number, focused.dataset.testid] : null;
    const list = Array.from(queue.values()).sort((a, b) =>
      (K.priorityNum(a.priority) || 9) - (K.priorityNum(b.priority) || 9) || (Number(a.created_at) || 0) - (Number(b.created_at) || 0));
    ui.queue.replaceChildren(...list.map(queueItem));
    ui.queueCount.textContent = queueLoaded ? kbt('agent.041', [list.length]) : '';
    ui.queueEmpty.hidden = list.length > 0;
    ui.queueEmpty.textContent = queueLoaded ? kbt('agent.042') : kbt('agent.043');
    if (focusKey) {
      const li = ui.queue.querySelector(`li[data-number="${CSS.escape(focusKey[0] || '')}"]`);
      const f = li && li.querySelector(`[data-testid="${focusKey[1]}"]`);
      if (f && !f.disabled) f.focus(); else if (li) { const b = li.querySelector('button:not(:disabled)'); if (b) b.focus(); }
    }
  }

  function queueItem(t) {
    const n = unread.get(t.number) || 0;
    const msg = queueMsg.get(t.number);
    const taking = pendingTake.has(t.number);
    const li = el('li', {
      class: `qi${cur && cur.number === t.number ? ' current' : ''}${isMine(t) ? ' mine' : ''}`,
      'data-number': t.number, 'data-status': t.status, 'data-testid': 'queue-item',
    },
    el('div', { class: 'qi-head' },
      el('button', { type: 'button', class: 'btn-link qi-no', 'data-testid': 'queue-open', 'aria-label': kbt('agent.044', [t.number]), onclick: () => openTicket(t.number, { focus: true }) }, t.number),
      K.priorityBadge(t.priority, 'queue-priority'),
      K.statusBadge(t.status, 'queue-status'),
      slaBadge(t),
      n ? el('span', { class: 'badge kind-known_error', 'data-testid': 'unread' }, kbt('agent.045', [n])) : null),
    el('div', { class: 'qi-sum', 'data-testid': 'queue-summary', title: t.summary || '' }, t.summary || kbt('agent.046')),
    el('div', { class: 'qi-meta' },
      el('span', { 'data-testid': 'queue-requester' }, kbt('agent.047', [t.requester || '—'])),
      el('span', null, t.agent ? kbt('agent.048', [t.agent]) : kbt('agent.049')),
      slaParts(t).map((p) => slaNode(p, p.label === kbt('agent.032') ? 'sla-response' : 'sla-resolution'))));
    const actions = el('div', { class: 'qi-actions' });
    if (canTake(t)) {
      actions.append(el('button', {
        type: 'button', class: 'btn-primary btn-sm', 'data-testid': 'take-button', disabled: taking,
        'aria-label': kbt('agent.050', [t.number]), onclick: () => takeTicket(t.number),
      }, taking ? kbt('agent.051') : kbt('agent.052')));
    }
    actions.append(el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'queue-view', 'aria-label': kbt('agent.053', [t.number]), onclick: () => openTicket(t.number, { focus: true }) }, kbt('agent.054')));
    li.append(actions);
    if (msg) li.append(el('p', { class: `inline-msg ${msg.cls || ''}`, role: msg.cls === 'err' ? 'alert' : null, 'data-testid': 'queue-item-message' }, msg.text));
    return li;
  }

  function takeTicket(number) {
    queueMsg.delete(number);
    if (!send({ type: 'take', id: rid('take', number), ticket: number })) {
      queueMsg.set(number, { text: kbt('agent.055'), cls: 'err' });
      renderQueue();
      return;
    }
    pendingTake.add(number);
    renderQueue();
    if (cur && cur.number === number) renderHead();
  }

  /* ---------- the open ticket ---------- */

  window.kbdeskReopenTicket = (number) => { if (cur && cur.number === number) openTicket(number); }; /* agent_major.js */
  function openTicket(number, opts = {}) {
    const same = cur && cur.number === number;
    if (!same) {
      cur = {
        number, ticket: queue.get(number) || null, msgs: new Map(), suggestions: [], seen: [], links: [], events: [], loaded: false,
        search: null, expanded: new Set(),
      };
      kb.stopSearch();
      ui.log.replaceChildren();
      const draft = drafts[number] || {};
      ui.reply.value = draft.reply || '';
      ui.ticketAtts.replaceChildren();
      ui.resolution.value = draft.resolution || '';
      ui.kbQ.value = '';
      setResolveMsg('', '');
      showTyping(false);
      stopTyping();
    }
    K.session.set(CURRENT_KEY, number);
    if (WS) WS.onOpen(number);
    ui.placeholder.hidden = true;
    ui.content.hidden = false;
    ui.desk.classList.add('has-ticket');
    setTicketMsg(opts.msg ? opts.msg.text : (same ? ui.tmsg.textContent : ''), opts.msg ? opts.msg.cls : '');
    renderHead();
    renderSide();
    renderQueue();
    /* our unacknowledged replies to this ticket */
    if (!same) for (const o of outbox) if (o.ticket === number) appendPending(o);
    send({ type: 'open', id: rid('open', number), ticket: number });
    if (opts.focus) ui.number.focus();
  }

  function closeTicket() {
    /* the ticket's other viewers are told that this agent left it */
    if (cur) send({ type: 'leave', ticket: cur.number });
    cur = null;
    K.session.set(CURRENT_KEY, null);
    if (WS) WS.onClose();
    ui.content.hidden = true;
    ui.placeholder.hidden = false;
    ui.desk.classList.remove('has-ticket');
    ui.log.replaceChildren();
    renderQueue();
  }

  ui.back.addEventListener('click', () => {
    const n = cur && cur.number;
    closeTicket();
    const b = n && ui.queue.querySelector(`li[data-number="${CSS.escape(n)}"] [data-testid="queue-open"]`);
    if (b) b.focus();
  });

  const IMPACT_SHORT = { 1: kbt('common.013'), 2: kbt('common.014'), 3: kbt('common.015') };
  const RESOLVED_TEXT = kbt('agent.056');

  /* The other agents who have a ticket open (the daemon's "viewers"
   * frames, by ticket), shown under the open ticket's head so that two
   * people do not work the same ticket unawares. */
  const viewers = new Map();
  function onViewers(f) {
    if (typeof f.ticket !== 'string' || !Array.isArray(f.agents)) return;
    viewers.set(f.ticket, f.agents);
    if (cur && cur.number === f.ticket) renderViewers();
  }
  function renderViewers() {
    const line = $('t-viewers');
    const v = (cur && viewers.get(cur.number)) || [];
    line.hidden = !v.length;
    line.textContent = v.length ? kbt('x.viewers', [v.map((a) => a.name).join(kbt('x.list_sep'))]) : '';
  }

  function renderHead() {
    if (!cur) return;
    renderViewers();
    const t = cur.ticket || { number: cur.number };
    ui.number.textContent = t.number;
    K.fill(ui.badges,
      t.priority ? K.priorityBadge(t.priority, 'ticket-priority') : '',
      t.status ? K.statusBadge(t.status, 'ticket-status') : '');
    ui.summary.textContent = t.summary || (cur.loaded ? '' : kbt('agent.057'));
    K.fill(ui.meta,
      el('span', null, kbt('agent.058'), el('strong', { 'data-testid': 'ticket-requester' }, t.requester || '—')),
      t.category ? el('span', null, kbt('agent.059'), el('strong', null, String(t.category).split('/').join(' / '))) : null,
      t.impact ? el('span', null, kbt('agent.060'), el('strong', null, IMPACT_SHORT[t.impact] || t.impact), kbt('agent.061'), el('strong', null, IMPACT_SHORT[t.urgency] || t.urgency)) : null,
      el('span', null, kbt('agent.062'), el('strong', { 'data-testid': 'ticket-agent' }, t.agent || kbt('agent.049'))),
      t.created_at ? el('span', null, kbt('agent.063'), el('strong', null, K.fmtTime(t.created_at))) : null,
      slaParts(t).map((p) => slaNode(p, p.label === kbt('agent.032') ? 'ticket-sla-response' : 'ticket-sla-resolution')),
      t.rating ? el('span', { 'data-testid': 'ticket-rating' }, kbt('agent.064'), el('strong', null, '★'.repeat(t.rating)),
        t.rating_comment ? el('q', { class: 'rating-comment', 'data-testid': 'ticket-rating-comment' }, t.rating_comment) : null) : null,
      t.team_name ? el('span', null, kbt('agent.065'), el('strong', { 'data-testid': 'ticket-team' }, t.team_name)) : null,
      t.merged_into ? el('span', null, kbt('agent.066'), el('strong', { 'data-testid': 'ticket-merged-into' }, t.merged_into)) : null,
      t.status === 'pending' ? el('span', null, kbt('x.pending_label'), el('strong', { 'data-testid': 'ticket-pending-reason' }, t.pending_reason || '')) : null);
    const taking = pendingTake.has(t.number);
    ui.take.hidden = !(t.status && canTake(t));
    ui.take.disabled = taking;
    ui.take.textContent = taking ? kbt('agent.051') : kbt('agent.052');
    const mine = isMine(t);
    const writable = mine && t.status !== 'closed';
    ui.reply.disabled = !writable;
    ui.replySend.disabled = !writable;
    ui.replyNote.textContent = writable ? '' : t.status === 'closed' ? kbt('agent.067') : t.agent ? kbt('agent.068', [t.agent]) : kbt('agent.069');
    const resolvable = mine && (t.status === 'assigned' || t.status === 'reopened' || t.status === 'pending');
    ui.resolveForm.hidden = !(mine && t.status !== 'closed');
    ui.resolution.disabled = !resolvable;
    ui.resolveButton.disabled = !resolvable;
    if (t.status === 'resolved' && !ui.resolveMsg.textContent) setResolveMsg(RESOLVED_TEXT, 'good');
    if (t.status !== 'resolved' && ui.resolveMsg.textContent === RESOLVED_TEXT) setResolveMsg('', '');
    if (!cur.loaded) ui.resolveForm.hidden = true;
    if (window.kbdeskTicketKnowledge) window.kbdeskTicketKnowledge(cur.loaded ? t : null); /* agent_knowledge.js */
    if (window.kbdeskTicketProblems) window.kbdeskTicketProblems(cur.loaded ? t : null); /* agent_problems.js */
    if (window.kbdeskTicketPending) window.kbdeskTicketPending(cur.loaded ? t : null, mine); /* agent_pending.js */
    if (window.kbdeskTicketMajor) window.kbdeskTicketMajor(cur.loaded ? t : null); /* agent_major.js */
  }

  function setTicketMsg(text, cls) {
    ui.tmsg.textContent = text || '';
    ui.tmsg.className = `inline-msg ${cls || ''}`;
  }

  function setResolveMsg(text, cls) {
    ui.resolveMsg.textContent = text || '';
    ui.resolveMsg.className = `inline-msg ${cls || ''}`;
  }

  ui.take.addEventListener('click', () => { if (cur) takeTicket(cur.number); });

  /* ---------- transcript ---------- */

  const STATE_TEXT = { pending: kbt('agent.070'), sent: kbt('agent.017'), failed: kbt('agent.071') };

  function messageNode(m) {
    const fromMe = m.from === 'agent' && (!m.name || m.name === me.name);
    const who = m.from === 'requester' ? kbt('agent.047', [m.name || '']).trim() : m.from === 'agent' ? kbt('agent.072', [m.name || '']).trim() : kbt('agent.073');
    return el('li', {
      class: `msg ${m.from === 'requester' ? 'requester' : fromMe ? 'me' : 'agent'}`,
      'data-testid': 'msg', 'data-from': m.from === 'requester' ? 'requester' : 'agent', 'data-seq': m.seq,
    },
    el('div', { class: 'msg-meta' }, el('span', null, who), m.at ? el('time', null, K.fmtTime(m.at)) : null),
    el('div', { class: 'bubble', 'data-testid': 'msg-text' }, String(m.text || '')),
    K.attach.row(session, m.attachments));
  }

  /* Inserts a stored message in seq order, once. */
  function addMessage(m, live) {
    const seq = Number(m.seq);
    if (!Number.isInteger(seq) || seq < 1 || !cur || cur.msgs.has(seq)) return;
    const stick = !live || nearLogBottom();
    const li = messageNode(m);
    cur.msgs.set(seq, li);
    let before = null;
    for (const x of ui.log.children) {
      const s = Number(x.dataset.seq);
      if ((x.dataset.state === 'pending' || x.dataset.state === 'failed') || (s && s > seq)) { before = x; break; }
    }
    ui.log.insertBefore(li, before);
    if (stick) scrollLog();
  }

  function appendPending(o) {
    const li = el('li', { class: 'msg me pending', 'data-testid': 'msg', 'data-from': 'agent', 'data-state': 'pending', 'data-id': o.id },
      el('div', { class: 'msg-meta' }, el('span', null, kbt('agent.072', [me.name]).trim())),
      el('div', { class: 'bubble', 'data-testid': 'msg-text' }, o.text),
      K.attach.row(session, o.atts),
      el('div', { class: 'msg-meta' }, el('span', { class: 'msg-state', 'data-state': 'pending', 'data-testid': 'msg-state' }, STATE_TEXT.pending)));
    ui.log.append(li);
    scrollLog();
    return li;
  }

  function markFailed(li, text, final, o) {
    const s = li.querySelector('.msg-state');
    let e = li.querySelector('.msg-err');
    if (!e) { e = el('span', { class: 'msg-state msg-err', 'data-state': 'failed' }); s.after(e); }
    e.textContent = text;
    if (!final) return;
    li.classList.remove('pending');
    li.classList.add('failed');
    li.dataset.state = 'failed';
    s.textContent = STATE_TEXT.failed;
    s.dataset.state = 'failed';
    if (!li.querySelector('[data-testid=msg-retry]')) {
      e.after(el('button', {
        type: 'button', class: 'btn-link', 'data-testid': 'msg-retry',
        onclick: (ev) => {
          ev.currentTarget.remove();
          li.classList.remove('failed');
          li.classList.add('pending');
          li.dataset.state = 'pending';
          s.textContent = STATE_TEXT.pending;
          s.dataset.state = 'pending';
          e.remove();
          if (!outbox.some((x) => x.id === o.id)) { outbox.push(o); saveOutbox(); }
          send(replyFrame(o));
        },
      }, kbt('agent.074')));
    }
  }

  function nearLogBottom() {
    return ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
  }
  function scrollLog() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  /* the reply frame of an outbox entry (with its attachments' ids) */
  function replyFrame(o) {
    const f = { type: 'reply', id: o.id, ticket: o.ticket, text: o.text };
    if (Array.isArray(o.att) && o.att.length) f.attachments = o.att;
    return f;
  }

  function submitReply() {
    if (!cur || ui.reply.disabled) return;
    const text = ui.reply.value.replace(/^\s+|\s+$/g, '');
    if (!text) { ui.reply.focus(); return; }
    const o = { id: K.clientId(), ticket: cur.number, text };
    outbox.push(o);
    saveOutbox();
    appendPending(o);
    ui.reply.value = '';
    saveCurrentDraft();
    stopTyping();
    send(replyFrame(o));
    ui.reply.focus();
  }

  ui.replyForm.addEventListener('submit', (ev) => { ev.preventDefault(); submitReply(); });
  ui.attachInput.addEventListener('change', () => {
    const file = ui.attachInput.files && ui.attachInput.files[0];
    ui.attachInput.value = '';
    if (file) attachFile(file);
  });
  ui.reply.addEventListener('keydown', (ev) => {
    if (ev.isComposing || ev.keyCode === 229) return;
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.ctrlKey && !ev.altKey && !ev.metaKey) {
      ev.preventDefault();
      submitReply();
    }
  });

  /* typing, both ways */
  let typingHide = 0;
  function showTyping(on) {
    clearTimeout(typingHide);
    const name = cur && cur.ticket && cur.ticket.requester;
    ui.typing.textContent = on ? kbt('agent.075', [name || kbt('agent.015')]) : '';
    if (on) typingHide = setTimeout(() => { ui.typing.textContent = ''; }, TYPING_SHOW_MS);
  }

  let typingSentAt = 0;
  let typingTicket = null;
  let typingIdle = 0;
  ui.resolution.addEventListener('input', saveCurrentDraft);
  ui.reply.addEventListener('input', () => {
    saveCurrentDraft();
    if (!cur || !ui.reply.value.trim()) return;
    clearTimeout(typingIdle);
    if (Date.now() - typingSentAt > TYPING_EVERY_MS || typingTicket !== cur.number) {
      typingSentAt = Date.now();
      typingTicket = cur.number;
      send({ type: 'typing', ticket: cur.number, active: true });
    }
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  });
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt && typingTicket) send({ type: 'typing', ticket: typingTicket, active: false });
    typingSentAt = 0;
    typingTicket = null;
  }

  /* ---------- knowledge: suggestions, search, links ---------- */

  const RELATION_TEXT = { suggested: kbt('agent.076'), viewed: kbt('agent.077'), helpful: kbt('agent.078'), used: kbt('agent.079') };

  function renderSide() {
    if (!cur) return;
    renderKb();
    ui.seen.replaceChildren(...(cur.seen.length ? cur.seen.map((s) => el('li', { class: 'seen-row', 'data-testid': 'seen-item', 'data-id': s.id },
      el('span', { class: `badge kind-${K.KINDS.includes(s.kind) ? s.kind : 'article'}` }, K.KIND_LABEL[s.kind] || kbt('agent.080')),
      el('span', { class: 'seen-title' }, s.title || s.id),
      el('span', { class: `verdict${s.helpful === true ? ' yes' : ''}` },
        s.helpful === true ? kbt('agent.081') : s.helpful === false ? kbt('agent.082') : kbt('agent.083')),
      linkButton(s.id, s.title),
      linkNote(s.id)))
      : [el('li', { class: 'muted inline-msg' }, cur.loaded ? kbt('agent.084') : kbt('agent.057'))]));
    const used = cur.links.filter((l) => l.relation !== 'suggested');
    ui.links.replaceChildren(...(used.length ? used.map((l) => el('li', { 'data-testid': 'link-item', 'data-id': l.item },
      el('span', { class: 'card-id' }, l.item), ' ', titleOf(l.item, l.title), ' ',
      el('span', { class: 'verdict' }, `${RELATION_TEXT[l.relation] || l.relation}${l.by ? ' · ' + l.by : ''}`)))
      : [el('li', { class: 'muted inline-msg' }, kbt('agent.085'))]));
    ui.events.replaceChildren(...cur.events.map((e) => el('li', { 'data-testid': 'event' },
      el('time', null, K.fmtTime(e.at)), ' ', el('strong', null, EVENT_LABEL[e.type] || e.type),
      e.by ? ` · ${e.by}` : kbt('agent.086'),
      WS && WS.eventDetail(e) ? ` ${WS.eventDetail(e)}`
        : e.to && e.from && e.to !== e.from ? kbt('x.paren', [`${K.TICKET_STATUS_LABEL[e.from] || e.from} → ${K.TICKET_STATUS_LABEL[e.to] || e.to}`]) : '')));
  }

  const EVENT_LABEL = {
    created: kbt('agent.087'), taken: kbt('x.ev_taken'), replied: kbt('agent.088'), linked: kbt('agent.089'), resolved: kbt('agent.033'),
    reopened: kbt('common.010'), confirmed: kbt('agent.090'), closed: kbt('agent.091'), auto_closed: kbt('agent.092'), rated: kbt('agent.093'),
    edited: kbt('agent.094'), noted: kbt('agent.095'), assigned: kbt('agent.096'), transferred: kbt('agent.097'), merged: kbt('agent.098'), merged_from: kbt('agent.099'),
    pending: kbt('x.ev_pending'), resumed: kbt('x.ev_resumed'), sla_applied: kbt('x.sla_applied'), sla_warning: kbt('x.sla_warning'), sla_breach: kbt('x.sla_breach'),
    major_declared: kbt('major.ev_declared'), major_cleared: kbt('major.ev_cleared'), major_linked: kbt('major.ev_linked'),
  };

  function titleOf(id, fallback) {
    const s = cur.suggestions.find((x) => x.id === id) || cur.seen.find((x) => x.id === id);
    return (s && s.title) || fallback || '';
  }

  const isLinked = (id) => cur.links.some((l) => l.item === id && l.relation === 'used');

  function linkButton(id, title) {
    const writable = cur.ticket && isMine(cur.ticket) && cur.ticket.status !== 'closed';
    if (isLinked(id)) return el('span', { class: 'verdict yes', 'data-testid': 'linked' }, kbt('agent.100'));
    return el('button', {
      type: 'button', class: 'btn btn-sm', 'data-testid': 'link-button', disabled: !writable,
      title: writable ? '' : kbt('agent.101'), 'aria-label': kbt('agent.102', [title || id]),
      onclick: () => linkItem(id),
    }, kbt('agent.103'));
  }

  function linkNote(id) {
    const m = cur.linkMsg;
    return m && m.item === id ? el('p', { class: `inline-msg ${m.cls}`, role: m.cls === 'err' ? 'alert' : null, 'data-testid': 'link-message' }, m.text) : null;
  }

  function linkItem(id) {
    if (!cur) return;
    cur.linkMsg = null;
    if (!send({ type: 'link', id: rid('link', id), ticket: cur.number, item: id, relation: 'used' })) {
      cur.linkMsg = { item: id, text: kbt('agent.055'), cls: 'err' };
    }
    renderSide();
  }

  /* The search box: empty, it lists what chatdesk suggested for this ticket
   * (internal knowledge included) and what the user saw; with text, it
   * searches the whole knowledge base over /ws (`search`, internal
   * documents too), as the agent types (debounced) or on Enter. A document
   * id (KB-0001) can be linked directly. Every card can be expanded to the
   * full document (`doc`, fetched once and kept). */
  /* the knowledge panel: suggestions, search, whole documents (agent_kb.js) */
  const kb = K.agentKb({ ui, send, rid, parseId, getCur: () => cur, isLinked, linkButton, linkNote, DOC_ID_RE });
  const renderKb = () => kb.render();
  const onDoc = (f) => kb.onDoc(f);
  const onSearchResults = (f) => kb.onSearchResults(f);

  /* ---------- resolve ---------- */

  ui.resolveForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!cur) return;
    const text = ui.resolution.value.trim();
    if (!text) { setResolveMsg(kbt('agent.131'), 'err'); ui.resolution.focus(); return; }
    if (!send({ type: 'resolve', id: rid('resolve', cur.number), ticket: cur.number, resolution: text })) {
      setResolveMsg(kbt('agent.055'), 'err');
      return;
    }
    ui.resolveButton.disabled = true;
    setResolveMsg(kbt('agent.132'), '');
  });

  /* ---------- page-level messages ---------- */

  function showDeskError(prefix, f) {
    ui.deskError.replaceChildren(...K.errorNodes(prefix, f));
    ui.deskError.hidden = false;
  }
  function hideDeskError() { ui.deskError.hidden = true; ui.deskError.replaceChildren(); }

  let announceTimer = 0;
  function announce(text) {
    clearTimeout(announceTimer);
    ui.announce.textContent = text;
    announceTimer = setTimeout(() => { ui.announce.textContent = ''; }, 5000);
  }

  /* ---------- the workspace's view of this page (tickets.js) ---------- */

  const workspaceApi = {
    send, rid, me, announce,
    token: () => session,
    current: () => cur,
    openTicket: (number) => openTicket(number, { focus: true }),
  };

  /* ---------- start ---------- */

  renderQueue();
  if (session) {
    showDesk();
    link.start();
  } else {
    showLogin('');
  }
  window.addEventListener('pagehide', () => stopTyping());
})();
