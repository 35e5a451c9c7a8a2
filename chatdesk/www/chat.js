/* kbdesk chat page: an end user describes a problem, gets knowledge
 * suggestions after each message, escalates to a person, chats with the
 * agent, confirms the resolution and rates the service. Protocol:
 * chatdesk/PROTOCOL.md (the "Requester" part).
 *
 * Nothing is lost or shown twice across reloads and network blips:
 * - the session token, the conversation, the highest seq seen, the
 *   unacknowledged messages (outbox) and what is on screen (log) live in
 *   sessionStorage;
 * - after a reconnect the page resumes the session with last_seq and the
 *   server replays what was missed; messages are deduplicated by
 *   (conversation, seq);
 * - messages are resent with the same client id until acknowledged (the
 *   server stores a client id once).
 *
 * Each suggestion is drawn as a card (chat_card.js); its whole document
 * opens in a reader inside the chat (chat_reader.js), before the chat's
 * own "did this help".
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { $, el } = K;

  const STATE_KEY = 'kbdesk.chat.state';
  const PROFILE_KEY = 'kbdesk.chat.profile';
  const DRAFT_KEY = 'kbdesk.chat.draft';  /* the composer's text not sent yet */
  const CONFIG_URL = 'config.json';
  const MAX_LOG = 400;
  const TYPING_EVERY_MS = 3000;  // resend "typing" at most this often
  const TYPING_IDLE_MS = 4000;   // "stopped typing" after this long without input
  const TYPING_SHOW_MS = 8000;   // hide the agent's indicator if no news for this long
  const RETRY_MS = 4000;         // resend after db_unavailable / overloaded

  const ui = {
    who: $('who'), conn: $('conn'), newChat: $('new-chat'),
    start: $('start'), startTitle: $('start-title'), startForm: $('start-form'), name: $('name'), email: $('email'),
    startError: $('start-error'), startButton: $('start-button'),
    chat: $('chat'), ticketBar: $('ticket-bar'), log: $('log'), typing: $('typing'), error: $('chat-error'),
    escForm: $('escalate-form'), impact: $('impact'), urgency: $('urgency'), escSubmit: $('escalate-submit'),
    escCancel: $('escalate-cancel'), escToggle: $('escalate-toggle'),
    composer: $('composer'), input: $('message-input'), send: $('send'), ended: $('ended'), announce: $('announce'),
    offline: $('offline'), attachInput: $('attach-input'),
  };

  /* ---------- state ---------- */

  let st = null;        // the persisted state (see fresh())
  let ready = false;    // welcomed on the current connection
  let searchdUrl = '';  // optional, from config.json: links to the full document
  const nodes = new Map(); // log entry key -> <li>

  function fresh(profile) {
    return {
      v: 1, profile, session: null, conv: null, convStatus: 'open', lastSeq: 0,
      ticket: null, outbox: [], log: [], nextKey: 1,
    };
  }

  function save() {
    if (!st) return;
    if (st.log.length > MAX_LOG) {
      for (const e of st.log.splice(0, st.log.length - MAX_LOG)) {
        const li = nodes.get(e.k);
        if (li) li.remove();
        nodes.delete(e.k);
      }
    }
    K.session.set(STATE_KEY, st);
  }

  function loadState() {
    const s = K.session.get(STATE_KEY, null);
    if (!s || s.v !== 1 || !s.profile || !Array.isArray(s.log) || !Array.isArray(s.outbox)) return null;
    return s;
  }

  /* ---------- the connection ---------- */

  const link = new K.Link({
    onOpen: sendHello,
    onFrame: (f) => { try { handle(f); } finally { save(); } },
    onClose: () => { ready = false; showTyping(false); },
    onStatus: (state, info) => {
      showConn(state, info);
      /* near the input too: the header may be scrolled away */
      ui.offline.hidden = state !== 'waiting';
    },
  });
  const showConn = K.connStatus(ui.conn);

  function sendHello() {
    ready = false;
    /* a private link opened in this browser (?t=...): the link's person,
     * a new session; a mailed sign-in link (?signin=...): signs in */
    if (!st.session && st.pendingLink) { link.send({ type: 'hello', id: 'hello', link: st.pendingLink }); return; }
    if (!st.session && st.pendingSignin) { link.send({ type: 'signin', id: 'hello', link: st.pendingSignin }); return; }
    /* signing in by e-mail from the start page: no chat until signed in */
    if (!st.session && !st.profile.name) { ready = true; link.established(); K.portal?.ready(); return; }
    const f = { type: 'hello', role: 'requester', id: 'hello', name: st.profile.name };
    if (st.profile.email) f.email = st.profile.email;
    if (st.session) {
      f.resume = { session: st.session, last_seq: st.lastSeq };
      if (st.conv) f.resume.conversation = st.conv;
    }
    link.send(f);
  }

  function send(f) {
    return ready && link.send(f);
  }

  /* ---------- frames from the server ---------- */

  function handle(f) {
    switch (f.type) {
      case 'welcome': onWelcome(f); break;
      case 'message': onMessage(f); break;
      case 'ack': onAck(f); break;
      case 'suggestions': onSuggestions(f); break;
      case 'feedback_ack': onFeedbackAck(f); break;
      case 'doc': reader.onDoc(f); break;
      case 'kb_feedback_ack': reader.onFeedbackAck(f); break;
      case 'ticket': updateTicket(f, false); break;
      case 'major_banner': /* a major incident touches this ticket (null: cleared) */
        if (st && st.ticket && st.ticket.number === f.ticket) { st.ticket.major = f.major || null; renderTicketBar(); }
        break;
      case 'resolved': onResolved(f); break;
      case 'typing': if (f.from === 'agent') showTyping(f.active !== false); break;
      case 'conversation':
        if (f.ticket && typeof f.ticket.number === 'string') { /* follow: an older ticket's conversation */
          st.dividerPending = true;
          onConversation(f.conversation || {});
          add({ t: 'sys', ticket: f.ticket.number, text: kbt('chat.001', [f.ticket.number, f.ticket.summary || '']) });
          updateTicket(f.ticket, true);
        } else {
          onConversation(f.conversation || {});
        }
        break;
      case 'rated': onRated(f); break;
      case 'private_link': onPrivateLink(f); break;
      case 'signin_sent': case 'my_tickets': case 'mail_prefs': K.portal?.onFrame(f); break;
      case 'error': if (!K.portal?.onError(f)) onError(f); break;
      default: /* pong, logged_out, anything newer: nothing to show */
    }
  }

  function onWelcome(f) {
    const conv = f.conversation || {};
    const hadSession = !!st.session;
    st.session = typeof f.session === 'string' ? f.session : st.session;
    if (typeof f.name === 'string' && f.name) st.profile.name = f.name;
    /* signed in with a verified address (e-mail sign-in) */
    if (typeof f.email === 'string' && f.email) { st.profile.email = f.email; st.signedIn = true; }
    if (st.pendingLink || st.pendingSignin) {
      delete st.pendingLink;
      delete st.pendingSignin;
      if (!st.log.length) addSys(kbt('chat.002', [st.profile.name]));
    }
    K.portal?.onWelcome(f);
    /* a session whose chat never got a message was never stored: a new
     * one is no news to the user */
    if (hadSession && f.resumed === false && st.conv) {
      /* the old session expired: the server started a new chat */
      addSys(kbt('chat.003'));
      st.ticket = null;
      st.lastSeq = 0;
    } else if (st.conv && conv.id && conv.id !== st.conv) {
      /* the old conversation ended: the server replays the current one from the start */
      st.lastSeq = 0;
      st.ticket = null;
      if (st.log.length) addSys(kbt('chat.004'));
    }
    if (conv.id) st.conv = conv.id;
    else if (f.resumed === false) st.conv = null; /* a new chat: its first message makes it */
    if (conv.status) st.convStatus = conv.status;
    ready = true;
    link.established();
    hideError();
    updateTicket(f.ticket || null, true);
    flushOutbox();
    syncControls();
  }

  /* A message of the conversation: the agent's, or (in a replay) one of ours. */
  function onMessage(f) {
    const seq = Number(f.seq);
    if (!Number.isInteger(seq) || seq < 1) return;
    if (seq > st.lastSeq) st.lastSeq = seq;
    if (findBySeq(seq)) return; // seen already
    if (f.from === 'requester') {
      /* ours, stored but not acknowledged before the connection broke:
       * the one with that client id (chatdesk sends it, PROTOCOL.md does
       * not promise it), else the oldest unacknowledged one with that text */
      const mine = (typeof f.id === 'string' && st.log.find((e) => e.t === 'me' && !e.seq && e.id === f.id))
        || st.log.find((e) => e.t === 'me' && !e.seq && e.text === f.text);
      if (mine) {
        if (Array.isArray(f.attachments)) mine.atts = f.attachments;
        mine.seq = seq;
        mine.conv = st.conv;
        mine.state = 'sent';
        refresh(mine);
        return;
      }
      add({ t: 'me', text: String(f.text || ''), seq, conv: st.conv, state: 'sent', at: f.at, atts: f.attachments });
      return;
    }
    showTyping(false);
    if (st.ticket && !st.ticket.first_response_at) {
      st.ticket.first_response_at = Number(f.at) || Math.floor(Date.now() / 1000);
      renderTicketBar();
    }
    add({ t: 'in', from: 'agent', name: typeof f.name === 'string' ? f.name : '', text: String(f.text || ''), seq, conv: st.conv, at: f.at, atts: f.attachments });
    announce(kbt('chat.005', [f.name ? ' ' + f.name : '', K.shorten(f.text, 140)]));
    /* a notice (and a browser notification) when the page is not in front */
    if (window.KN && document.visibilityState !== 'visible') KN.notice(kbt('hooks.agent_replied', [K.shorten(f.text, 80)]));
  }

  function onAck(f) {
    /* the first message of a new chat creates its conversation */
    if (f.conversation && f.conversation.id) st.conv = f.conversation.id;
    const e = st.log.find((x) => x.t === 'me' && x.id === f.id);
    st.outbox = st.outbox.filter((o) => o.id !== f.id);
    const seq = Number(f.seq);
    if (Number.isInteger(seq) && seq > st.lastSeq) st.lastSeq = seq;
    if (!e) return;
    /* a replayed copy of the same message (matched to another entry) goes */
    const dup = Number.isInteger(seq) ? st.log.find((x) => x !== e && x.seq === seq && x.conv === st.conv && (x.t === 'me')) : null;
    if (dup) removeEntry(dup);
    e.seq = Number.isInteger(seq) ? seq : e.seq;
    e.conv = st.conv;
    e.state = 'sent';
    if (Array.isArray(f.attachments)) e.atts = f.attachments;
    delete e.err;
    refresh(e);
    hideError();
  }

  function onSuggestions(f) {
    const items = Array.isArray(f.items) ? f.items.filter((i) => i && typeof i.id === 'string') : [];
    const forSeq = Number(f.for_seq) || null;
    /* a resent message gets its suggestions again: show them once */
    if (forSeq && st.log.some((e) => e.t === 'sugg' && e.conv === st.conv && e.forSeq === forSeq)) return;
    /* suggestions are searched over the whole conversation, so the same
     * documents come back: show only those not shown before */
    const shown = new Set();
    for (const e of st.log) if (e.t === 'sugg' && e.conv === st.conv) for (const it of e.items) shown.add(it.id);
    const fresh = items.filter((it) => !shown.has(it.id));
    const repeated = items.length - fresh.length;
    const noGood = f.no_good_match === true && !items.length;
    add({ t: 'sugg', conv: st.conv, forSeq, items: fresh, repeated, verdicts: {}, noGood });
    if (fresh.length) announce(kbt('chat.007', [fresh.length, repeated ? kbt('chat.006') : '']));
    else if (noGood) announce(kbt('chat.008'));
    else if (!repeated) announce(kbt('chat.009'));
  }

  function onFeedbackAck(f) {
    for (let i = st.log.length - 1; i >= 0; i--) {
      const e = st.log[i];
      if (e.t === 'sugg' && e.items.some((it) => it.id === f.item)) {
        e.verdicts[f.item] = f.helpful ? 'yes' : 'no';
        delete e.pendingItem;
        delete e.err;
        refresh(e);
        break;
      }
    }
    if (f.ended) {
      st.convStatus = f.status || 'self_solved';
      addSys(kbt('chat.010'));
      syncControls();
    }
  }

  const ticketKey = (t) => t && t.number;

  /* A ticket object from welcome (fromWelcome) or a ticket frame. */
  function updateTicket(t, fromWelcome) {
    if (!t || typeof t !== 'object' || typeof t.number !== 'string') {
      if (fromWelcome) { st.ticket = null; renderTicketBar(); }
      return;
    }
    const prev = st.ticket && st.ticket.number === t.number ? st.ticket : null;
    const next = {
      number: t.number, status: t.status, priority: t.priority, impact: t.impact, urgency: t.urgency,
      agent: t.agent || null, response_due: t.response_due, resolution_due: t.resolution_due,
      first_response_at: t.first_response_at || null, resolution: t.resolution || null, rating: t.rating || null,
      pending_reason: t.pending_reason || null,
    };
    st.ticket = next;
    if (!prev) {
      if (!fromWelcome || !st.log.some((e) => e.t === 'sys' && e.ticket === t.number)) {
        const due = K.toDate(t.response_due);
        add({
          t: 'sys', ticket: t.number,
          text: kbt('chat.011', [t.number, K.priorityNum(t.priority) || '?', K.PRIORITY_LABEL[K.priorityNum(t.priority)] ? ' ' + K.PRIORITY_LABEL[K.priorityNum(t.priority)] : ''])
            + (due ? kbt('chat.012', [K.fmtTime(due)]) : kbt('chat.013')),
        });
        announce(kbt('chat.014', [t.number]));
      }
      st.convStatus = t.status === 'closed' ? 'closed' : 'escalated';
    } else if (prev.status !== next.status || prev.agent !== next.agent) {
      if (next.status === 'assigned' && prev.status === 'new') addSys(next.agent ? kbt('chat.015', [next.agent]) : kbt('chat.016'));
      else if (next.status === 'reopened') addSys(kbt('chat.017', [next.number]));
      else if (next.status === 'closed') addSys(kbt('chat.018', [next.number]));
    }
    if (next.status === 'closed') st.convStatus = 'closed';
    /* the answer to a resolution */
    if (next.status === 'closed' || next.status === 'reopened' || next.status === 'assigned') {
      for (const e of st.log) {
        if (e.t !== 'resolved' || e.ticket !== next.number || e.answer) continue;
        if (e.pending) e.answer = e.pendingAnswer || (next.status === 'closed' ? 'accepted' : 'rejected');
        else e.answer = 'stale';
        delete e.pending;
        delete e.err;
        refresh(e);
      }
    }
    /* a resolution that came while we were away */
    if (next.status === 'resolved' && next.resolution && !hasOpenResolution(next.number)) {
      add({ t: 'resolved', ticket: next.number, resolution: next.resolution, answer: null });
    }
    /* rating: after the ticket is closed, unless rated already */
    if (next.status === 'closed' && !next.rating && !st.log.some((e) => e.t === 'rate' && e.ticket === next.number)) {
      add({ t: 'rate', ticket: next.number, score: null });
    }
    if (next.rating) {
      for (const e of st.log) if (e.t === 'rate' && e.ticket === next.number && !e.score) { e.score = next.rating; refresh(e); }
    }
    renderTicketBar();
    syncControls();
  }

  function hasOpenResolution(number) {
    return st.log.some((e) => e.t === 'resolved' && e.ticket === number && !e.answer);
  }

  function onResolved(f) {
    if (typeof f.ticket !== 'string') return;
    if (!hasOpenResolution(f.ticket)) add({ t: 'resolved', ticket: f.ticket, resolution: String(f.resolution || ''), answer: null });
    showTyping(false);
    announce(kbt('chat.019'));
    if (window.KN) KN.notice(kbt('hooks.resolved', [f.ticket]));
  }

  function onConversation(c) {
    st.conv = c.id || null;
    st.convStatus = c.status || 'open';
    st.lastSeq = Number(c.last_seq) || 0;
    st.ticket = null;
    if (!st.dividerPending) addSys(kbt('chat.004'));
    st.dividerPending = false;
    renderTicketBar();
    syncControls();
  }

  /* The private link of this requester (after a ticket is raised, or on
   * request): shown once in the log, the newest replacing the older. */
  function onPrivateLink(f) {
    if (typeof f.link !== 'string') return;
    const url = `${location.origin}${location.pathname}?t=${f.link}`;
    for (const e of st.log) if (e.t === 'link' && !e.old) { e.old = true; refresh(e); }
    add({ t: 'link', url });
    announce(kbt('chat.020'));
  }

  function onRated(f) {
    for (const e of st.log) {
      if (e.t === 'rate' && e.ticket === f.ticket) {
        e.score = Number(f.score) || e.pendingScore || 0;
        delete e.pending;
        delete e.err;
        refresh(e);
      }
    }
    if (st.ticket && st.ticket.number === f.ticket) st.ticket.rating = Number(f.score) || 1;
  }

  function onError(f) {
    const id = typeof f.id === 'string' ? f.id : '';
    if (reader.error(id, f)) return;
    const mine = id && st.log.find((e) => e.t === 'me' && e.id === id);
    if (mine) {
      if (f.code === 'db_unavailable' || f.code === 'overloaded' || f.code === 'rate_limited') {
        /* not stored: stays in the outbox and is resent */
        mine.state = 'pending';
        mine.err = K.errorText(f);
        refresh(mine);
        setTimeout(() => resendOne(id), RETRY_MS);
      } else {
        mine.state = 'failed';
        mine.err = K.errorText(f);
        st.outbox = st.outbox.filter((o) => o.id !== id);
        refresh(mine);
      }
      return;
    }
    if (id === 'hello') {
      if (f.code === 'session_expired') {
        st.session = null;
        sendHello();
        return;
      }
      if (st.pendingLink || st.pendingSignin) {
        delete st.pendingLink;
        delete st.pendingSignin;
        link.stop();
        showError(f.code === 'too_many_attempts' ? '' : kbt('chat.021'), f);
        return;
      }
      showError(kbt('chat.022'), f);
      return;
    }
    if (id.startsWith('esc-')) {
      ui.escSubmit.disabled = false;
      setEscError(f.code === 'invalid_state' && !st.log.some((e) => e.t === 'me')
        ? kbt('chat.023') : K.errorText(f));
      return;
    }
    const [kind, key] = id.split(':');
    const entry = key ? st.log.find((e) => String(e.k) === key) : null;
    if (entry && (kind === 'fb' || kind === 'cf' || kind === 'rate')) {
      delete entry.pending;
      delete entry.pendingItem;
      entry.err = K.errorText(f);
      if (kind === 'rate' && f.code === 'already_rated') { entry.score = entry.pendingScore || entry.score || 0; delete entry.err; }
      if (kind === 'cf' && f.code === 'invalid_state') { entry.answer = entry.answer || 'stale'; delete entry.err; }
      refresh(entry);
      return;
    }
    showError('', f);
  }

  /* ---------- outbox ---------- */

  function flushOutbox() {
    for (const o of st.outbox) send(outFrame(o));
  }

  function resendOne(id) {
    const o = st.outbox.find((x) => x.id === id);
    if (o) send(outFrame(o));
  }

  /* the message frame of an outbox entry (with its attachments' ids) */
  function outFrame(o) {
    const f = { type: 'message', id: o.id, text: o.text };
    if (Array.isArray(o.att) && o.att.length) f.attachments = o.att;
    return f;
  }

  function sendMessage(text, atts) {
    if (st.convStatus === 'self_solved' || st.convStatus === 'closed') {
      /* the server starts a new conversation with this message */
      if (!st.dividerPending) addSys(kbt('chat.004'));
      st.dividerPending = true;
    }
    const id = K.clientId();
    const o = { id, text, att: (atts || []).map((a) => a.id) };
    st.outbox.push(o);
    add({ t: 'me', id, text, seq: null, conv: null, state: 'pending', at: Math.floor(Date.now() / 1000), atts }, true);
    send(outFrame(o));
    stopTyping();
    save();
  }

  /* ---------- the log ---------- */

  function findBySeq(seq) {
    return st.log.find((e) => e.seq === seq && e.conv === st.conv && (e.t === 'me' || e.t === 'in'));
  }

  function add(entry, mine) {
    entry.k = st.nextKey++;
    st.log.push(entry);
    const li = render(entry);
    nodes.set(entry.k, li);
    const stick = mine || nearBottom();
    ui.log.append(li);
    if (stick) reveal(li);
    return entry;
  }

  function addSys(text) { return add({ t: 'sys', text }); }

  function refresh(entry) {
    const old = nodes.get(entry.k);
    const li = render(entry);
    nodes.set(entry.k, li);
    if (old) {
      const focused = old.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
      old.replaceWith(li);
      if (focused) { const f = li.querySelector(`[data-testid="${focused}"]`); if (f && !f.disabled) f.focus(); }
    }
  }

  function removeEntry(entry) {
    const i = st.log.indexOf(entry);
    if (i >= 0) st.log.splice(i, 1);
    const li = nodes.get(entry.k);
    if (li) li.remove();
    nodes.delete(entry.k);
  }

  function nearBottom() {
    const doc = document.scrollingElement || document.documentElement;
    return doc.scrollHeight - doc.scrollTop - window.innerHeight < 160;
  }

  /* Scrolls so that a new entry is seen: its top if it is taller than the
   * window, else the bottom of the page. */
  function reveal(li) {
    requestAnimationFrame(() => {
      const r = li.getBoundingClientRect();
      const dock = document.querySelector('.dock');
      const room = window.innerHeight - (dock ? dock.offsetHeight : 0) - 60;
      if (r.height > room) li.scrollIntoView({ block: 'start' });
      else window.scrollTo(0, document.documentElement.scrollHeight);
    });
  }

  function renderAll() {
    nodes.clear();
    ui.log.setAttribute('aria-busy', 'true');
    ui.log.replaceChildren(...st.log.map((e) => { const li = render(e); nodes.set(e.k, li); return li; }));
    ui.log.removeAttribute('aria-busy');
    renderTicketBar();
    syncControls();
    requestAnimationFrame(() => window.scrollTo(0, document.documentElement.scrollHeight));
  }

  function render(e) {
    switch (e.t) {
      case 'me': return renderMine(e);
      case 'in': return renderAgent(e);
      case 'sugg': return renderSuggestions(e);
      case 'resolved': return verdict.resolution(e);
      case 'rate': return verdict.rating(e);
      case 'link': return renderLink(e);
      default: return el('li', { class: 'sys', 'data-testid': 'system-message' }, el('span', { class: 'sys-text' }, e.text));
    }
  }

  function renderLink(e) {
    if (e.old) {
      return el('li', { class: 'sys', 'data-testid': 'private-link-old' },
        el('span', { class: 'sys-text' }, kbt('chat.024')));
    }
    const input = el('input', { type: 'text', readonly: '', value: e.url, class: 'link-box', 'data-testid': 'private-link',
      'aria-label': kbt('chat.025'), onfocus: (ev) => ev.target.select() });
    return el('li', { class: 'group', 'data-testid': 'private-link-entry' },
      el('p', { class: 'group-title' }, kbt('chat.026')),
      input,
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => { navigator.clipboard?.writeText(e.url); input.select(); } }, kbt('chat.027')),
        el('span', { class: 'muted' }, 'Keep this link to come back from any device.')));
  }

  const STATE_TEXT = { pending: kbt('agent.070'), sent: kbt('agent.017'), failed: kbt('agent.071') };

  function renderMine(e) {
    const meta = el('div', { class: 'msg-meta' },
      el('span', { class: 'msg-state', 'data-state': e.state, 'data-testid': 'msg-state' }, STATE_TEXT[e.state] || ''),
      e.at ? el('time', null, K.fmtTime(e.at)) : null);
    if (e.err) meta.append(el('span', { class: 'msg-state', 'data-state': 'failed' }, e.err));
    if (e.state === 'failed') {
      meta.append(el('button', {
        type: 'button', class: 'btn-link', 'data-testid': 'msg-retry',
        onclick: () => {
          e.state = 'pending';
          delete e.err;
          if (!st.outbox.some((o) => o.id === e.id)) st.outbox.push({ id: e.id, text: e.text, att: (e.atts || []).map((a) => a.id) });
          refresh(e);
          resendOne(e.id);
          save();
        },
      }, kbt('agent.074')));
    }
    return el('li', {
      class: `msg me ${e.state}`, 'data-testid': 'msg', 'data-from': 'me', 'data-state': e.state,
      'data-seq': e.seq || null, 'data-id': e.id || null,
    }, el('span', { class: 'visually-hidden' }, kbt('chat.028')), el('div', { class: 'bubble', 'data-testid': 'msg-text' }, e.text),
    K.attach.row(st.session, e.atts), meta);
  }

  function renderAgent(e) {
    return el('li', { class: 'msg agent', 'data-testid': 'msg', 'data-from': 'agent', 'data-seq': e.seq },
      el('div', { class: 'msg-meta' }, el('span', null, e.name ? kbt('chat.029', [e.name]) : kbt('chat.030')), e.at ? el('time', null, K.fmtTime(e.at)) : null),
      el('div', { class: 'bubble', 'data-testid': 'msg-text' }, e.text), K.attach.row(st.session, e.atts));
  }

  function renderSuggestions(e) {
    const ended = st.convStatus === 'self_solved' || st.convStatus === 'closed' || e.conv !== st.conv;
    if (!e.items.length && e.repeated) {
      return el('li', { class: 'sys', 'data-testid': 'suggestions', 'data-count': '0' },
        el('span', { class: 'sys-text' }, kbt('chat.031')));
    }
    if (!e.items.length && e.noGood) {
      /* the search found nothing that fits well: say so, offer a person at once */
      const canEscalate = !ended && st.convStatus === 'open' && !st.ticket;
      return el('li', { class: 'group empty', 'data-testid': 'suggestions', 'data-count': '0', 'data-no-good-match': 'true' },
        el('p', { class: 'group-title' }, kbt('chat.032')),
        el('p', { class: 'muted' }, kbt('chat.033')),
        canEscalate ? el('button', { type: 'button', class: 'btn', 'data-testid': 'no-match-escalate', onclick: () => showEscalate(true) }, kbt('chat.034')) : null);
    }
    if (!e.items.length) {
      return el('li', { class: 'group empty', 'data-testid': 'suggestions', 'data-count': '0' },
        el('p', { class: 'group-title' }, kbt('chat.035')),
        el('p', { class: 'muted' }, kbt('chat.036')));
    }
    const verdictDone = Object.values(e.verdicts).includes('yes');
    return el('li', { class: 'group', 'data-testid': 'suggestions', 'data-count': e.items.length },
      el('p', { class: 'group-title' }, e.repeated ? kbt('chat.037', [e.items.length, e.repeated]) : kbt('chat.038', [e.items.length])),
      el('ol', { class: 'cards' }, e.items.map((it) => K.suggestionCard(it, {
        searchdUrl, onRead: () => reader.open(it),
        verdict: e.verdicts[it.id], pending: e.pendingItem === it.id, disabled: ended || !!e.pendingItem,
        onVerdict: (helpful) => {
          e.pendingItem = it.id;
          delete e.err;
          refresh(e);
          if (!send({ type: 'feedback', id: `fb:${e.k}`, item: it.id, helpful })) {
            delete e.pendingItem;
            e.err = kbt('chat.039');
            refresh(e);
          }
          save();
        },
      }))),
      e.err ? el('p', { class: 'inline-msg err', role: 'alert' }, e.err) : null,
      !verdictDone && !ended && st.convStatus === 'open' && !st.ticket ? el('p', { class: 'muted inline-msg' }, kbt('chat.040')) : null);
  }

  /* ---------- the whole document, read inside the chat (chat_reader.js) ---------- */

  const reader = K.chatReader(send);

  /* ---------- the resolution to confirm and the rating (chat_verdict.js) ---------- */

  const verdict = K.chatVerdict({ send, refresh: (e) => refresh(e), save: () => save() });

  /* ---------- ticket bar, controls ---------- */

  let barTimer = 0;

  function renderTicketBar() {
    clearInterval(barTimer);
    const t = st && st.ticket;
    if (!t) { ui.ticketBar.hidden = true; ui.ticketBar.replaceChildren(); return; }
    const draw = () => {
      const now = Date.now();
      const due = (label, v, done, testid) => {
        const d = K.toDate(v);
        if (!d) return null;
        const c = K.countdown(d, now, true);
        return el('span', { class: 'due', 'data-testid': testid },
          `${label} `, el('strong', null, K.fmtTime(d)),
          done ? el('span', { class: 'muted' }, kbt('chat.079')) : el('span', { class: c.cls }, kbt('x.paren', [c.text])));
      };
      const closedLike = t.status === 'resolved' || t.status === 'closed';
      K.fill(ui.ticketBar,
        el('span', null, kbt('chat.080'), el('span', { class: 'ticket-no', 'data-testid': 'ticket-number' }, t.number)),
        K.priorityBadge(t.priority, 'ticket-priority'),
        K.statusBadge(t.status, 'ticket-status'),
        t.agent ? el('span', { class: 'muted' }, kbt('chat.029', [t.agent])) : null,
        closedLike ? null : due(kbt('chat.081'), t.response_due, !!t.first_response_at, 'response-due'),
        closedLike || t.status === 'pending' ? null : due(kbt('chat.082'), t.resolution_due, false, 'resolution-due'),
        /* the desk waits for this person's answer (the clock is paused) */
        t.status === 'pending' ? el('span', { class: 'pending-note', role: 'status', 'data-testid': 'ticket-pending' },
          t.pending_reason ? kbt('x.kv', [kbt('x.chat_pending'), t.pending_reason]) : kbt('x.chat_pending'), kbt('x.chat_pending_tail')) : null,
        majorBanner(t));
    };
    draw();
    ui.ticketBar.hidden = false;
    barTimer = setInterval(draw, 30000);
  }

  /* The status banner of a major incident that touches the ticket (its own
   * or the one it is linked to), with the desk's message. */
  function majorBanner(t) {
    if (!t.major || typeof t.major.ticket !== 'string') return null;
    return el('div', { class: 'major-banner', role: 'alert', 'data-testid': 'major-banner' },
      kbt('major.banner', [t.major.ticket]), t.major.message ? ` ${t.major.message}` : '');
  }

  let shownStatus = null;
  function syncControls() {
    if (!st) return;
    if (shownStatus !== null && shownStatus !== st.convStatus) {
      /* verdict buttons and hints depend on the conversation's state */
      for (const e of st.log) if (e.t === 'sugg') refresh(e);
    }
    shownStatus = st.convStatus;
    const hasTicket = !!st.ticket && st.ticket.status !== 'closed';
    const ended = st.convStatus === 'self_solved' || st.convStatus === 'closed';
    ui.escToggle.hidden = hasTicket || ended;
    if (ui.escToggle.hidden) showEscalate(false);
    ui.ended.hidden = !ended;
    ui.ended.textContent = ended ? kbt('chat.083') : '';
    ui.newChat.hidden = !ended;
    ui.who.hidden = false;
    ui.who.textContent = st.profile.email ? st.profile.name + kbt('x.paren', [st.profile.email]) : st.profile.name;
    ui.input.placeholder = hasTicket ? kbt('chat.084') : kbt('chat.085');
  }

  /* ---------- typing ---------- */

  let typingHide = 0;
  function showTyping(on) {
    clearTimeout(typingHide);
    const agent = st && st.ticket && st.ticket.agent;
    ui.typing.textContent = on ? (agent ? kbt('chat.086', [agent]) : kbt('chat.087')) : '';
    if (on) typingHide = setTimeout(() => { ui.typing.textContent = ''; }, TYPING_SHOW_MS);
  }

  let typingSentAt = 0;
  let typingIdle = 0;
  function noteTyping() {
    if (!st || !st.ticket || !st.ticket.agent || st.ticket.status === 'closed') return;
    clearTimeout(typingIdle);
    if (Date.now() - typingSentAt > TYPING_EVERY_MS) {
      typingSentAt = Date.now();
      send({ type: 'typing', active: true });
    }
    typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
  }
  function stopTyping() {
    clearTimeout(typingIdle);
    if (typingSentAt) {
      typingSentAt = 0;
      send({ type: 'typing', active: false });
    }
  }

  /* ---------- messages to the user ---------- */

  function showError(prefix, f) {
    ui.error.replaceChildren(...K.errorNodes(prefix, f));
    ui.error.hidden = false;
  }
  function hideError() { ui.error.hidden = true; ui.error.replaceChildren(); }

  let announceTimer = 0;
  function announce(text) {
    clearTimeout(announceTimer);
    ui.announce.textContent = text;
    announceTimer = setTimeout(() => { ui.announce.textContent = ''; }, 5000);
  }

  /* ---------- escalation ---------- */

  function showEscalate(show) {
    ui.escForm.hidden = !show;
    ui.escToggle.setAttribute('aria-expanded', String(show));
    ui.escToggle.classList.toggle('on', show);
    ui.escForm.parentElement.classList.toggle('expanded', show);
    setEscError('');
    ui.escSubmit.disabled = false;
    if (show) ui.impact.focus();
  }

  function setEscError(text) {
    let p = ui.escForm.querySelector('.inline-msg');
    if (!p) { p = el('p', { class: 'inline-msg err', role: 'alert', 'data-testid': 'escalate-error' }); ui.escForm.append(p); }
    p.textContent = text;
    p.hidden = !text;
  }

  ui.escToggle.addEventListener('click', () => showEscalate(ui.escForm.hidden));
  ui.escCancel.addEventListener('click', () => { showEscalate(false); ui.escToggle.focus(); });
  ui.escForm.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { showEscalate(false); ui.escToggle.focus(); } });
  ui.escForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!st.log.some((e) => e.t === 'me' || e.t === 'in')) {
      setEscError(kbt('chat.023'));
      ui.input.focus();
      return;
    }
    if (st.outbox.length) {
      setEscError(kbt('chat.088'));
      return;
    }
    const f = { type: 'escalate', id: `esc-${Date.now()}`, impact: Number(ui.impact.value), urgency: Number(ui.urgency.value) };
    if (!send(f)) { setEscError(kbt('chat.089')); return; }
    ui.escSubmit.disabled = true;
    setEscError('');
  });

  /* ---------- composer ---------- */

  function submitComposer() {
    const text = ui.input.value.replace(/^\s+|\s+$/g, '');
    if (!text) { ui.input.focus(); return; }
    if (Array.from(text).length > 20000) { showError('', { message: kbt('chat.090') }); return; }
    ui.input.value = '';
    saveDraft();
    sendMessage(text);
    ui.input.focus();
  }

  ui.composer.addEventListener('submit', (ev) => { ev.preventDefault(); submitComposer(); });

  /* an attachment: uploaded first, then sent with the text typed so far
   * (or its name) as one message */
  ui.attachInput.addEventListener('change', async () => {
    const file = ui.attachInput.files && ui.attachInput.files[0];
    ui.attachInput.value = '';
    if (!file) return;
    if (!st.session || !st.conv) { showError('', { message: kbt('attach.013') }); return; }
    try {
      const a = await K.attach.upload(st.session, file);
      const typed = ui.input.value.replace(/^\s+|\s+$/g, '');
      ui.input.value = '';
      saveDraft();
      hideError();
      sendMessage(typed || kbt('attach.009', [a.name]), [a]);
    } catch (e) {
      showError(kbt('attach.014'), { message: e.message });
    }
  });
  ui.input.addEventListener('keydown', (ev) => {
    if (ev.isComposing || ev.keyCode === 229) return; // the IME is composing
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.ctrlKey && !ev.altKey && !ev.metaKey) {
      ev.preventDefault();
      submitComposer();
    }
  });
  ui.input.addEventListener('input', () => { saveDraft(); if (ui.input.value.trim()) noteTyping(); });

  /* ---------- start, new chat ---------- */

  const EMAIL_RE = /^[^\s@]+@[^\s@]+$/;

  function showStart() {
    const p = K.local.get(PROFILE_KEY, {}) || {};
    ui.name.value = typeof p.name === 'string' ? p.name : '';
    ui.email.value = typeof p.email === 'string' ? p.email : '';
    ui.start.hidden = false;
    ui.chat.hidden = true;
    ui.who.hidden = true;
    ui.newChat.hidden = true;
    (ui.name.value ? ui.email.value ? ui.startButton : ui.email : ui.name).focus();
  }

  function showChat() {
    ui.start.hidden = true;
    ui.chat.hidden = false;
    ui.input.value = K.session.get(DRAFT_KEY, '') || ''; /* typed, not sent, before a reload */
    renderAll();
  }

  /* the composer's text not sent yet, on its own key (not the whole state
   * written again per keystroke); a new chat drops it */
  const saveDraft = () => K.session.set(DRAFT_KEY, ui.input.value || null);

  ui.startForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const name = ui.name.value.trim();
    const email = ui.email.value.trim();
    const problems = [];
    if (!name) problems.push(kbt('chat.091'));
    else if (Array.from(name).length > 128) problems.push(kbt('chat.092'));
    if (!email) problems.push(kbt('chat.093'));
    else if (!EMAIL_RE.test(email) || email.length > 254) problems.push(kbt('chat.094'));
    ui.name.setAttribute('aria-invalid', String(!name));
    ui.email.setAttribute('aria-invalid', String(!email || !EMAIL_RE.test(email)));
    if (problems.length) {
      ui.startError.textContent = problems.join(' ');
      ui.startError.hidden = false;
      (!name ? ui.name : ui.email).focus();
      return;
    }
    ui.startError.hidden = true;
    K.local.set(PROFILE_KEY, { name, email });
    st = fresh({ name, email });
    addGreeting();
    save();
    showChat();
    link.start();
    ui.input.focus();
  });

  function addGreeting() {
    add({ t: 'sys', text: kbt('chat.095', [st.profile.name]) });
  }

  ui.newChat.addEventListener('click', () => {
    if (ready) link.send({ type: 'logout' });
    link.stop();
    ready = false;
    K.session.set(STATE_KEY, null);
    K.session.set(DRAFT_KEY, null);
    st = null;
    nodes.clear();
    ui.log.replaceChildren();
    renderTicketBarOff();
    showStart();
  });

  function renderTicketBarOff() { clearInterval(barTimer); ui.ticketBar.hidden = true; ui.ticketBar.replaceChildren(); }

  /* ---------- optional configuration: the search page's address ---------- */

  async function loadConfig() {
    try {
      const r = await fetch(CONFIG_URL, { cache: 'no-store', headers: { Accept: 'application/json' } });
      if (!r.ok) return;
      const c = await r.json();
      const u = c && typeof c.searchd_url === 'string' ? c.searchd_url.trim().replace(/\/+$/, '') : '';
      if (/^https?:\/\/[^\s"'<>]+$/i.test(u)) {
        searchdUrl = u;
        if (st && !ui.chat.hidden) renderAll();
      }
    } catch { /* no configuration: details open in place */ }
  }

  /* ---------- start ---------- */

  /* a private link (?t=) or a mailed sign-in link (?signin=): a fresh
   * state for that person, and the token off the address bar */
  const params = new URLSearchParams(location.search);
  const tokenRe = /^[A-Za-z0-9_-]{43}$/;
  const opened = { t: params.get('t'), signin: params.get('signin') };
  if (tokenRe.test(opened.t || '') || tokenRe.test(opened.signin || '')) {
    history.replaceState(null, '', location.pathname);
    K.session.set(STATE_KEY, null);
    K.session.set(DRAFT_KEY, null);
    st = fresh({ name: '', email: '' });
    if (tokenRe.test(opened.t || '')) st.pendingLink = opened.t;
    else st.pendingSignin = opened.signin;
    save();
  } else {
    st = loadState();
  }
  if (st) {
    showChat();
    link.start();
  } else {
    showStart();
  }
  /* what the portal's views (portal.js) need of the chat */
  K.chat = {
    send: (f) => ready && link.send(f),
    state: () => st,
    /* e-mail sign-in from the start page: a connection without a chat */
    startSignin() {
      st = fresh({ name: '', email: '' });
      save();
      showChat();
      link.start();
    },
    /* back to the start page (a sign-in given up before it was done) */
    reset() { ui.newChat.click(); },
    /* continue in an older ticket's conversation */
    follow(number) {
      st.log = [];
      st.lastSeq = 0;
      st.ticket = null;
      renderAll();
      link.send({ type: 'follow', ticket: number, id: `follow-${number}` });
    },
  };
  loadConfig();
  window.addEventListener('pagehide', () => stopTyping());
})();
