/* notify.js: in-page notices and browser notifications for both pages
 * (window.KN). A notice is a short message in a corner area (role status,
 * read by screen readers) that goes away after a while or when closed;
 * when the person allowed browser notifications (asked only on a click of
 * the button this module adds, never on load) and the page is not in
 * front, the same text also goes to the browser's Notification API. The
 * agent page also gets the person's notification preferences (GET/PUT
 * /api/v1/me/preferences with the session token) as a small panel, and
 * turns its queue_update frames into notices: a ticket assigned to me, a
 * ticket transferred to one of my teams. */
(function () {
  'use strict';

  const NOTICE_MS = 12000;
  /* every text through i18n.js (loaded first); the key itself without it */
  const t = (key, args) => (typeof window.kbt === 'function' ? window.kbt(key, args) : key);
  let area = null;
  let prefs = { mail_assigned: true, mail_team: true, browser_assigned: true, browser_team: true, email: null };
  let myTeams = new Set();

  function ensureArea() {
    if (area && area.isConnected) return area;
    area = document.createElement('div');
    area.className = 'notices';
    area.setAttribute('role', 'status');
    area.setAttribute('aria-live', 'polite');
    area.dataset.testid = 'notices';
    document.body.appendChild(area);
    return area;
  }

  const canNotify = () => typeof window.Notification === 'function';

  /* Shows text as a notice (and a browser notification when allowed and the
   * page is not visible). onclick (optional) runs when either is clicked. */
  function notice(text, { onclick, tag } = {}) {
    const el = document.createElement('div');
    el.className = 'notice';
    el.dataset.testid = 'notice';
    const span = document.createElement('span');
    span.textContent = text;
    el.appendChild(span);
    if (onclick) {
      span.classList.add('notice-link');
      span.addEventListener('click', () => { onclick(); el.remove(); });
    }
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'notice-close';
    close.setAttribute('aria-label', t('hooks.close_notice'));
    close.textContent = '×';
    close.addEventListener('click', () => el.remove());
    el.appendChild(close);
    ensureArea().appendChild(el);
    setTimeout(() => el.remove(), NOTICE_MS);
    if (canNotify() && Notification.permission === 'granted' && document.visibilityState !== 'visible') {
      try {
        const n = new Notification('kbdesk', { body: text, tag: tag || undefined });
        n.onclick = () => { window.focus(); if (onclick) onclick(); n.close(); };
      } catch { /* some browsers allow notifications from a service worker only */ }
    }
    return el;
  }

  /* A button into container that asks for the browser's permission on a
   * click (hidden when the browser has no notifications or already
   * answered). */
  function permissionButton(container) {
    if (!container || !canNotify()) return null;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'btn btn-sm';
    b.dataset.testid = 'notify-permission';
    b.textContent = t('hooks.permission');
    const update = () => { b.hidden = Notification.permission !== 'default'; };
    b.addEventListener('click', () => {
      Promise.resolve(Notification.requestPermission()).then(update, update);
    });
    update();
    container.appendChild(b);
    return b;
  }

  /* the API call of common.js (loaded before this file): its error is the
   * API's own message */
  const call = (method, path, token, body) => window.kbdesk.api(method, path, body, { token });

  const FLAGS = [
    ['mail_assigned', 'hooks.mail_assigned'],
    ['mail_team', 'hooks.mail_team'],
    ['browser_assigned', 'hooks.browser_assigned'],
    ['browser_team', 'hooks.browser_team'],
  ];

  /* The preferences panel (a details element) into container, for the
   * session token; loads the preferences and the caller's teams. */
  function prefsPanel(container, token, me) {
    if (!container) return;
    const old = container.querySelector('.notify-prefs');
    if (old) old.remove();
    const d = document.createElement('details');
    d.className = 'notify-prefs';
    d.dataset.testid = 'notify-prefs';
    const sum = document.createElement('summary');
    sum.textContent = t('hooks.prefs');
    d.appendChild(sum);
    const form = document.createElement('form');
    form.className = 'notify-form';
    const boxes = {};
    for (const [k, label] of FLAGS) {
      const l = document.createElement('label');
      const c = document.createElement('input');
      c.type = 'checkbox';
      c.name = k;
      c.dataset.testid = `pref-${k}`;
      boxes[k] = c;
      l.append(c, ' ', t(label));
      form.appendChild(l);
    }
    const el = document.createElement('label');
    el.textContent = `${t('hooks.email')} `;
    const email = document.createElement('input');
    email.type = 'email';
    email.maxLength = 254;
    email.dataset.testid = 'pref-email';
    el.appendChild(email);
    form.appendChild(el);
    const save = document.createElement('button');
    save.type = 'submit';
    save.className = 'btn btn-sm';
    save.textContent = t('hooks.save');
    save.dataset.testid = 'pref-save';
    const msg = document.createElement('span');
    msg.className = 'inline-msg';
    msg.setAttribute('role', 'status');
    msg.dataset.testid = 'pref-msg';
    form.append(save, msg);
    d.appendChild(form);
    permissionButton(d);
    container.appendChild(d);
    const show = () => {
      for (const [k] of FLAGS) boxes[k].checked = !!prefs[k];
      email.value = prefs.email || '';
    };
    call('GET', '/api/v1/me/preferences', token).then((p) => { prefs = p; show(); }, (e) => { msg.textContent = t('hooks.load_failed', [e.message]); });
    call('GET', '/api/v1/teams', token).then((j) => {
      myTeams = new Set((j.teams || []).filter((t) => (t.members || []).some((m) => m.name === me.name)).map((t) => t.slug));
    }, () => {});
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = { email: email.value.trim() || null };
      for (const [k] of FLAGS) body[k] = boxes[k].checked;
      msg.textContent = t('hooks.saving');
      call('PUT', '/api/v1/me/preferences', token, body).then((p) => { prefs = p; show(); msg.textContent = t('hooks.saved'); },
        (e) => { msg.textContent = t('hooks.not_saved', [e.message]); });
    });
  }

  /* The agent page's queue_update frame f, for the agent me ({name}):
   * a notice for a ticket assigned to me or moved into one of my teams. */
  function onQueueUpdate(f, me, open) {
    const tk = f && f.ticket;
    if (!tk || typeof tk.number !== 'string') return;
    const short = String(tk.summary || '').slice(0, 60);
    const go = open ? () => open(tk.number) : undefined;
    if (f.event === 'assigned' && me.name && tk.agent === me.name) {
      if (prefs.browser_assigned) notice(t('hooks.assigned_notice', [tk.number, short]), { onclick: go, tag: tk.number });
    } else if (f.event === 'transferred' && tk.team && myTeams.has(tk.team) && tk.agent !== me.name) {
      if (prefs.browser_team) notice(t('hooks.team_notice', [tk.team_name || tk.team, tk.number, short]), { onclick: go, tag: tk.number });
    }
  }

  window.KN = { notice, permissionButton, prefsPanel, onQueueUpdate, prefs: () => prefs };
  /* the chat page's slot for the permission button (deferred scripts run
   * once the document is parsed) */
  permissionButton(document.getElementById('notify-slot'));
})();
