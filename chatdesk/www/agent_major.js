/* kbdesk agent page: major incidents (重大事件) on the open ticket. agent.js
 * calls window.kbdeskTicketMajor(ticket) whenever it draws the open ticket
 * (null while it is loading) and window.kbdeskMajorFrame(frame) for the
 * major_incident frames (this agent is told: a team lead, the service
 * owner team) and the major_update frames (any change, to every agent).
 * Shown: whether the ticket is, or is linked to, a major incident; a
 * reason and a message to requesters with "declare" and "clear" (the
 * server allows them to administrators and team leads only, and says so
 * to anyone else), and "link this ticket to major incident INC-…" (POST
 * /api/v1/tickets/{major}/major/links). The API is called with the page's
 * session token. Strings through i18n.js (kbt). */
'use strict';

window.kbdeskTicketMajor = (() => {
  const K = window.kbdesk;
  const $ = (id) => document.getElementById(id);
  const box = $('major-box'), state = $('major-state'), reason = $('major-reason'), message = $('major-message');
  const declareBtn = $('major-declare'), clearBtn = $('major-clear'), linkTo = $('major-link-to');
  const linkBtn = $('major-link'), msg = $('major-msg'), announce = $('major-announce');
  let ticket = null;
  let busy = false;

  function say(text, cls) {
    msg.textContent = text || '';
    msg.className = `inline-msg ${cls || ''}`;
  }

  async function call(method, number, path, body) {
    try {
      return await K.api(method, `/api/v1/tickets/${encodeURIComponent(number)}/${path}`, body);
    } catch (e) {
      say(kbt('major.failed', [e.status === 0 ? kbt('major.network') : e.message]), 'err');
      return null;
    }
  }

  async function act(fn) {
    if (busy || !ticket) return;
    busy = true;
    say(kbt('major.working'), '');
    try { await fn(); } finally { busy = false; }
  }

  declareBtn.addEventListener('click', () => act(async () => {
    const body = { reason: reason.value.trim() };
    if (!body.reason) { say(kbt('major.need_reason'), 'err'); reason.focus(); return; }
    if (message.value.trim()) body.message = message.value.trim();
    const r = await call('POST', ticket.number, 'major', body);
    if (r) { say(kbt('major.declared', [r.ticket]), 'good'); reason.value = ''; message.value = ''; refresh(); }
  }));
  clearBtn.addEventListener('click', () => act(async () => {
    const r = await call('DELETE', ticket.number, 'major');
    if (r) { say(kbt('major.cleared', [r.ticket]), 'good'); refresh(); }
  }));
  linkBtn.addEventListener('click', () => act(async () => {
    const major = linkTo.value.trim().toUpperCase();
    if (!major) { say(kbt('major.need_number'), 'err'); linkTo.focus(); return; }
    const r = await call('POST', major, 'major/links', { ticket: ticket.number });
    if (r) { say(kbt('major.linked', [ticket.number, r.ticket]), 'good'); linkTo.value = ''; refresh(); }
  }));

  function refresh() {
    if (ticket && window.kbdeskReopenTicket) window.kbdeskReopenTicket(ticket.number);
  }

  /* frames: tell this agent, and redraw the open ticket when it is concerned */
  window.kbdeskMajorFrame = (f) => {
    if (f.type === 'major_incident') {
      const text = kbt(f.event === 'cleared' ? 'major.told_cleared' : 'major.told_declared', [f.ticket]);
      announce.textContent = text;
      announce.hidden = false;
      if (typeof Notification !== 'undefined' && Notification.permission === 'granted') {
        try { new Notification(kbt('major.title'), { body: text, tag: `major-${f.ticket}` }); } catch (e) { /* not allowed here */ }
      }
    }
    if (ticket && (ticket.number === f.ticket || (ticket.major && ticket.major.ticket === f.ticket))) refresh();
  };

  return (t) => {
    if (!t || !ticket || t.number !== ticket.number) say('', '');
    ticket = t;
    box.hidden = !t;
    if (!t) return;
    const own = !!t.major && t.major.ticket === t.number;
    state.textContent = !t.major ? kbt('major.none')
      : own ? kbt('major.is_major', [K.fmtTime(t.major.since)]) : kbt('major.linked_to', [t.major.ticket]);
    state.classList.toggle('major-on', !!t.major);
    const open = t.status !== 'resolved' && t.status !== 'closed';
    declareBtn.hidden = !!t.major || !open;
    reason.closest('label').hidden = !!t.major || !open;
    message.closest('label').hidden = !!t.major || !open;
    clearBtn.hidden = !own;
    linkTo.closest('.row').hidden = !!t.major || t.status === 'closed';
  };
})();
