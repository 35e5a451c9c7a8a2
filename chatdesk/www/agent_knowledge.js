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
    const r = await K.apiCall('POST', `/api/v1/tickets/${encodeURIComponent(number)}/knowledge`, { kind },
      { headers: { 'idempotency-key': `${pageKey}-${number}-${kind}` } });
    for (const b of Object.values(buttons)) b.disabled = false;
    if ((r.status === 201 || r.status === 200) && r.body && r.body.id) {
      location.href = `knowledge.html#${encodeURIComponent(r.body.id)}`;
      return;
    }
    const err = r.status === 0 ? { code: 'network', message: kbt('aknow.002') }
      : (r.body && r.body.error) || { code: 'http', message: `HTTP ${r.status}` };
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
