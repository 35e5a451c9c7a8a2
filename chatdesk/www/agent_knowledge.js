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
    for (const b of Object.values(buttons)) b.disabled = true;
    msg.textContent = kbt('aknow.001');
    msg.className = 'inline-msg';
    let body = null;
    let err = null;
    try {
      body = await K.api('POST', `/api/v1/tickets/${encodeURIComponent(number)}/knowledge`, { kind },
        { headers: { 'idempotency-key': `${pageKey}-${number}-${kind}` } });
    } catch (e) {
      err = e.status === 0 ? { code: 'network', message: kbt('aknow.002') } : (e.body && e.body.error) || { code: 'http', message: e.message };
    }
    for (const b of Object.values(buttons)) b.disabled = false;
    if (body && body.id) {
      location.href = `knowledge.html#${encodeURIComponent(body.id)}`;
      return;
    }
    err = err || { code: 'http', message: kbt('aknow.002') };
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
