/* kbdesk agent page: "等待用户" (waiting for the requester) on the open
 * ticket. agent.js calls window.kbdeskTicketPending(ticket, mine) whenever
 * it draws the open ticket (null while it is loading). The agent holding
 * an assigned or reopened ticket gives a reason and sets it pending (POST
 * /api/v1/tickets/{number}/pending with the page's session token); while
 * it waits the reason is shown and "恢复处理" ends the wait (POST
 * .../resume). The requester's answer ends it too: the server's
 * queue_update redraws the ticket. The resolution clock is paused while
 * the ticket waits (server side). */
'use strict';

window.kbdeskTicketPending = (() => {
  const K = window.kbdesk;
  const form = document.getElementById('pending-form');
  const reason = document.getElementById('pending-reason');
  const setBtn = document.getElementById('pending-button');
  const resumeBtn = document.getElementById('resume-button');
  const msg = document.getElementById('pending-msg');
  let number = null;
  let busy = false;

  function say(text, cls) {
    msg.textContent = text || '';
    msg.className = `inline-msg ${cls || ''}`;
  }

  async function post(path, body) {
    const r = await K.apiCall('POST', `/api/v1/tickets/${encodeURIComponent(number)}/${path}`, body);
    if (r.status === 200) return r.body;
    const err = r.status === 0 ? { code: 'network', message: kbt('aknow.002') }
      : (r.body && r.body.error) || { code: 'http', message: `HTTP ${r.status}` };
    msg.className = 'inline-msg err';
    K.fill(msg, K.errorNodes(path === 'pending' ? kbt('pend.002') : kbt('pend.003'), err));
    return null;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!number || busy) return;
    const text = reason.value.trim();
    if (!text) { say(kbt('pend.004'), 'err'); reason.focus(); return; }
    busy = true;
    setBtn.disabled = true;
    say(kbt('major.working'), '');
    const t = await post('pending', { reason: text });
    busy = false;
    setBtn.disabled = false;
    if (t) { reason.value = ''; say(kbt('pend.006'), 'good'); }
  });

  resumeBtn.addEventListener('click', async () => {
    if (!number || busy) return;
    busy = true;
    resumeBtn.disabled = true;
    say(kbt('major.working'), '');
    const t = await post('resume', {});
    busy = false;
    resumeBtn.disabled = false;
    if (t) say(kbt('pend.007'), 'good');
  });

  return (t, mine) => {
    if (!t || t.number !== number) { say('', ''); reason.value = ''; }
    number = t ? t.number : null;
    const pending = !!t && t.status === 'pending';
    form.hidden = !(t && mine && (pending || t.status === 'assigned' || t.status === 'reopened'));
    reason.hidden = pending;
    reason.closest('label').hidden = pending;
    setBtn.hidden = pending;
    resumeBtn.hidden = !pending;
  };
})();
