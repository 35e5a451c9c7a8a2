/* kbdesk agent page: "create article" / "create known error" on a resolved
 * or closed ticket. agent.js calls window.kbdeskTicketKnowledge(ticket)
 * whenever it draws the open ticket (null while it is loading); the
 * buttons call POST /api/v1/tickets/{number}/knowledge with the page's
 * session token and open the new draft in the knowledge workspace
 * (knowledge.html, same tab: its session stays in sessionStorage). A
 * repeated click sends the same Idempotency-Key, so it creates one draft. */
'use strict';

window.kbdeskTicketKnowledge = (() => {
  const K = window.kbdesk;
  const box = document.getElementById('t-kb');
  const msg = document.getElementById('t-kb-msg');
  const buttons = { article: document.getElementById('t-kb-article'), known_error: document.getElementById('t-kb-ke') };
  const pageKey = K.clientId();
  let number = null;

  async function create(kind) {
    if (!number) return;
    const token = K.session.get('kbdesk.agent.session', null);
    for (const b of Object.values(buttons)) b.disabled = true;
    msg.textContent = kbt('aknow.001');
    msg.className = 'inline-msg';
    let r = null;
    let body = null;
    try {
      r = await fetch(`/api/v1/tickets/${encodeURIComponent(number)}/knowledge`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `${pageKey}-${number}-${kind}` },
        body: JSON.stringify({ kind }),
      });
      body = await r.json().catch(() => null);
    } catch { r = null; }
    for (const b of Object.values(buttons)) b.disabled = false;
    if (r && (r.status === 201 || r.status === 200) && body && body.id) {
      location.href = `knowledge.html#${encodeURIComponent(body.id)}`;
      return;
    }
    const err = (body && body.error) || { code: 'network', message: r ? `HTTP ${r.status}` : kbt('aknow.002') };
    msg.className = 'inline-msg err';
    K.fill(msg, K.errorNodes(kbt('aknow.003'), err));
  }

  buttons.article.addEventListener('click', () => create('article'));
  buttons.known_error.addEventListener('click', () => create('known_error'));

  return (t) => {
    if (!t || t.number !== number) { msg.textContent = ''; }
    number = t ? t.number : null;
    box.hidden = !(t && (t.status === 'resolved' || t.status === 'closed'));
  };
})();
