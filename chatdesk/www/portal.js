/* kbdesk chat page, the requester's portal views: e-mail sign-in with a
 * mailed code (a dialog), "my tickets" (every ticket of the signed-in or
 * linked requester, open and closed, with its conversation, resolution
 * and rating; an open one can be continued here), and the ticket-mail
 * preference. Protocol: chatdesk/PROTOCOL.md ("Requesters: private links,
 * e-mail sign-in, my tickets"). The chat itself is chat.js, which calls
 * K.portal.onFrame / onError / onWelcome / ready and offers K.chat.
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { $, el } = K;
  const STATUS = { new: kbt('portal.001'), assigned: kbt('common.008'), resolved: kbt('portal.002'), reopened: kbt('portal.003'), closed: kbt('common.011') };
  const ui = {
    signinOpen: $('signin-open'), startSignin: $('start-signin'), ticketsOpen: $('tickets-open'),
    signin: $('signin-dialog'), signinForm: $('signin-form'), email: $('signin-email'), code: $('signin-code'),
    codeRow: $('signin-code-row'), sendCode: $('signin-send'), submit: $('signin-submit'), msg: $('signin-msg'),
    cancel: $('signin-cancel'),
    tickets: $('tickets-dialog'), list: $('tickets-list'), ticketsClose: $('tickets-close'), mailPref: $('mail-pref'),
  };
  let signedIn = false;

  function setMsg(text, bad) {
    ui.msg.textContent = text;
    ui.msg.hidden = !text;
    ui.msg.classList.toggle('err', !!bad);
  }

  function openSignin() {
    setMsg('');
    ui.codeRow.hidden = true;
    ui.submit.hidden = true;
    ui.code.value = '';
    if (!ui.signin.open) ui.signin.showModal();
    ui.email.focus();
  }

  function closeSignin() {
    if (ui.signin.open) ui.signin.close();
    const st = K.chat.state();
    if (st && !st.session && !st.profile.name) K.chat.reset(); /* gave up before signing in */
  }

  ui.signinOpen.addEventListener('click', openSignin);
  ui.startSignin.addEventListener('click', () => { K.chat.startSignin(); openSignin(); });
  ui.cancel.addEventListener('click', closeSignin);
  ui.signin.addEventListener('cancel', (ev) => { ev.preventDefault(); closeSignin(); });
  ui.sendCode.addEventListener('click', () => {
    const email = ui.email.value.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(email)) { setMsg(kbt('chat.094'), true); ui.email.focus(); return; }
    if (!K.chat.send({ type: 'signin_request', id: 'signin-request', email })) { setMsg(kbt('agent.055'), true); return; }
    ui.sendCode.disabled = true;
    setMsg(kbt('portal.004'));
  });
  ui.signinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const code = ui.code.value.trim();
    if (!/^\d{6}$/.test(code)) { setMsg(kbt('portal.005'), true); ui.code.focus(); return; }
    if (!K.chat.send({ type: 'signin', id: 'signin', email: ui.email.value.trim(), code })) { setMsg(kbt('agent.055'), true); return; }
    ui.submit.disabled = true;
  });

  ui.ticketsOpen.addEventListener('click', () => {
    ui.list.replaceChildren(el('p', { class: 'muted' }, kbt('agent.057')));
    if (!ui.tickets.open) ui.tickets.showModal();
    K.chat.send({ type: 'my_tickets', id: 'my-tickets' });
  });
  ui.ticketsClose.addEventListener('click', () => ui.tickets.close());
  ui.mailPref.addEventListener('change', () => {
    K.chat.send({ type: 'mail_prefs', id: 'mail-prefs', ticket_mail: ui.mailPref.checked });
  });

  function renderTicket(t) {
    const open = t.status !== 'closed';
    const msgs = Array.isArray(t.messages) ? t.messages : [];
    const rating = t.rating ? `${'★'.repeat(t.rating)}${'☆'.repeat(5 - t.rating)}` : kbt('portal.006');
    return el('li', { class: 'my-ticket card', 'data-testid': 'my-ticket', 'data-number': t.number, 'data-status': t.status },
      el('h3', null, `${t.number} · ${STATUS[t.status] || t.status}`),
      el('p', { 'data-testid': 'my-ticket-summary' }, t.summary || ''),
      /* a major incident touches it: its status banner */
      t.major && typeof t.major.ticket === 'string' ? el('p', { class: 'major-banner', role: 'status', 'data-testid': 'my-ticket-major' },
        kbt('major.banner', [t.major.ticket]), t.major.message ? ` ${t.major.message}` : '') : null,
      t.resolution ? el('p', { 'data-testid': 'my-ticket-resolution' }, kbt('portal.007', [t.resolution])) : null,
      el('p', { 'data-testid': 'my-ticket-rating', 'data-score': t.rating || 0 },
        kbt('portal.008', [rating, t.rating_comment ? kbt('x.paren', [t.rating_comment]) : ''])),
      el('details', null, el('summary', null, kbt('portal.009', [msgs.length])),
        el('ol', { class: 'my-ticket-log' }, ...msgs.map((m) => el('li', { 'data-from': m.from },
          el('span', { class: 'muted' }, m.from === 'agent' ? kbt('portal.010', [m.name || '']) : kbt('chat.028')), m.text)))),
      open ? el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'my-ticket-continue',
        onclick: () => { ui.tickets.close(); K.chat.follow(t.number); } }, kbt('portal.011')) : null);
  }

  /* what a refused sign-in says (common.js's texts are for passwords) */
  function signinError(f) {
    const left = /(\d+) tr(y|ies) left/.exec(f.message || '');
    if (f.code === 'login_failed' && f.field === 'code') return kbt('portal.013', [left ? kbt('portal.012', [left[1]]) : '']);
    if (f.code === 'login_failed') return kbt('portal.014');
    if (f.code === 'too_many_attempts' && f.retry_after) return kbt('portal.015', [f.retry_after]);
    if (f.code === 'too_many_attempts') return kbt('portal.016');
    if (f.code === 'rate_limited') return kbt('portal.017', [f.retry_after || 60]);
    if (f.code === 'bad_field') return f.field === 'email' ? kbt('chat.094') : kbt('portal.005');
    return K.errorText(f);
  }

  K.portal = {
    ready() { /* a connection without a chat, for signing in */ },
    onWelcome(f) {
      signedIn = typeof f.email === 'string' && !!f.email;
      ui.ticketsOpen.hidden = false;
      ui.signinOpen.hidden = signedIn;
      ui.mailPref.checked = f.ticket_mail !== false;
      if (ui.signin.open && signedIn) { ui.signin.close(); }
      ui.submit.disabled = false;
    },
    onFrame(f) {
      if (f.type === 'signin_sent') {
        ui.sendCode.disabled = false;
        ui.codeRow.hidden = false;
        ui.submit.hidden = false;
        setMsg(kbt('portal.018', [f.email, Math.round((f.expires_in || 600) / 60)]));
        ui.code.focus();
      } else if (f.type === 'my_tickets') {
        const list = Array.isArray(f.tickets) ? f.tickets : [];
        ui.list.replaceChildren(...(list.length ? list.map(renderTicket) : [el('p', { class: 'muted', 'data-testid': 'my-tickets-empty' }, kbt('portal.019'))]));
      }
    },
    /* errors of the portal's own requests; true when handled */
    onError(f) {
      if (f.id === 'signin-request' || f.id === 'signin' || (f.id === 'hello' && ui.signin.open)) {
        ui.sendCode.disabled = false;
        ui.submit.disabled = false;
        setMsg(signinError(f), true);
        return true;
      }
      if (f.id === 'my-tickets') { ui.list.replaceChildren(el('p', { class: 'error' }, K.errorText(f))); return true; }
      return false;
    },
  };
})();
