/* kbdesk agent page: problem management on the open ticket. agent.js
 * calls window.kbdeskTicketProblems(ticket) when it draws the open ticket
 * (null while it loads): the open problems that resemble it
 * (GET /api/v1/tickets/{number}/problems) are listed with a "link" button
 * (POST /api/v1/problems/{p}/incidents). A "problem_update" frame (a
 * problem of the agent's tickets was resolved) is shown as a notice at the
 * top of the desk (window.kbdeskProblemUpdate). Text is set as text. */
'use strict';

window.kbdeskTicketProblems = (() => {
  const K = window.kbdesk;
  const box = document.getElementById('t-prb');
  const list = document.getElementById('t-prb-list');
  const msg = document.getElementById('t-prb-msg');
  let number = null;
  const token = () => K.session.get('kbdesk.agent.session', null);

  async function link(problem) {
    msg.textContent = kbt('aprob.001');
    try {
      await K.api('POST', `/api/v1/problems/${encodeURIComponent(problem)}/incidents`, { ticket: number }, { token: token() });
      msg.textContent = kbt('aprob.002', [problem]);
    } catch (e) { msg.textContent = e.status === 0 ? kbt('aprob.004') : kbt('aprob.003', [e.message]); }
  }

  async function load(n) {
    const r = await K.apiCall('GET', `/api/v1/tickets/${encodeURIComponent(n)}/problems`, null, { token: token() });
    if (r.status === 0) box.hidden = true;
    const b = r.status === 200 ? r.body : null;
    if (n !== number || !b) return;
    try {
      list.replaceChildren(...b.problems.map((p) => K.el('li', { 'data-testid': 'ticket-problem', 'data-number': p.number },
        K.el('a', { href: `problems.html#${encodeURIComponent(p.number)}` }, p.number), ' ', p.summary,
        K.el('span', { class: 'muted' }, kbt('aprob.005', [p.incidents])), ' ',
        K.el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'ticket-problem-link', onclick: () => link(p.number) }, kbt('aprob.006')))));
      box.hidden = b.problems.length === 0;
    } catch { box.hidden = true; }
  }

  return (t) => {
    const n = t ? t.number : null;
    if (n === number) return;
    number = n;
    msg.textContent = '';
    list.replaceChildren();
    box.hidden = true;
    if (n && t.status !== 'closed') load(n);
  };
})();

window.kbdeskProblemUpdate = (() => {
  const K = window.kbdesk;
  return (f) => {
    if (!f || f.event !== 'resolved' || !Array.isArray(f.tickets)) return;
    const desk = document.getElementById('desk');
    const note = K.el('p', { class: 'notice', role: 'status', 'data-testid': 'problem-notice' },
      kbt('aprob.007', [f.problem, f.summary || '', f.tickets.join(kbt('x.list_sep'))]),
      ' ', K.el('button', { type: 'button', class: 'btn btn-sm', onclick: () => note.remove() }, kbt('aprob.008')));
    desk.prepend(note);
  };
})();
