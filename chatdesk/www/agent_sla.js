/* agent_sla: the service-level pieces of the agent page that need none of
 * its state: the countdowns of a ticket's response and resolution
 * deadlines (repainted every second), the queue's warning / breach badge
 * and the browser notification of an SLA frame. agent.js reads them from
 * K.agentSla ({slaParts, slaNode, slaBadge, slaBrowserNotice}).
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;

  function slaParts(t) {
    const out = [];
    if (t.status === 'resolved' || t.status === 'closed') return out;
    if (t.first_response_at) out.push({ label: kbt('agent.032'), met: true });
    else out.push({ label: kbt('agent.032'), due: t.response_due });
    out.push({ label: kbt('agent.033'), due: t.resolution_due });
    return out;
  }

  function slaNode(p, testid) {
    const span = el('span', { class: 'sla', 'data-testid': testid });
    if (p.met) { span.classList.add('met'); span.textContent = kbt('agent.034', [p.label]); return span; }
    span.dataset.due = String(p.due || '');
    span.dataset.label = p.label;
    paintSla(span);
    return span;
  }

  function paintSla(span) {
    const c = K.countdown(span.dataset.due);
    span.textContent = `${span.dataset.label} ${c.text}`;
    span.classList.toggle('overdue', c.cls === 'overdue');
    span.classList.toggle('soon', c.cls === 'soon');
    const d = K.toDate(span.dataset.due);
    span.title = d ? kbt('agent.035', [span.dataset.label, K.fmtTime(d)]) : '';
  }

  setInterval(() => { for (const s of document.querySelectorAll('.sla[data-due]')) paintSla(s); }, 1000);

  const SLA_TEXT = { warning: kbt('agent.036'), breached: kbt('agent.037') };

  /* The ticket's SLA state ("sla": {service, state}) as a badge; null when ok or none. */
  function slaBadge(t) {
    const st = t.sla && t.sla.state;
    if (!SLA_TEXT[st]) return null;
    return el('span', { class: `badge sla-badge ${st}`, 'data-testid': 'queue-sla', title: t.sla.service || '' }, SLA_TEXT[st]);
  }

  /* The browser's notification for an SLA frame sent to this agent (the
   * server sends it to the assignee, the team and its leads only), when
   * the agent allowed notifications. The permission is asked only by the
   * notifications button of notify.js, never by any other click. */
  function slaBrowserNotice(ticket, text) {
    if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return;
    try { new Notification('kbdesk SLA', { body: text, tag: `sla-${ticket}` }); } catch (e) { /* not allowed here */ }
  }

  K.agentSla = { slaParts, slaNode, slaBadge, slaBrowserNotice };
})();
