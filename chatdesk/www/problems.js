/* The problem-management page (problems.html): problem records over the
 * JSON API (/api/v1/problems) with the agent's session token, which the
 * agent page keeps in sessionStorage (the same tab: open this page from
 * there). A list with a status filter and keyset paging, a new-problem
 * form, and a problem's view: its fields (one save, one "edited" event),
 * the lifecycle steps its status allows, the known-error draft, linked
 * incidents (link and unlink) and its history. Text from the server is
 * always set as text, never as HTML. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const SESSION_KEY = 'kbdesk.agent.session';
  const STATUS = K.PROBLEM_STATUS_LABEL;
  /* the fields an "edited" event names, as the form labels them */
  const FIELD = {
    summary: kbt('tickets.001'), description: kbt('pr.009'), service: kbt('kn.034'), impact: kbt('tickets.002'),
    root_cause: kbt('pr.010'), workaround: kbt('pr.011'), fix: kbt('pr.012'),
  };
  const IMPACT = { 1: kbt('common.013'), 2: kbt('common.014'), 3: kbt('common.015') };
  const STEPS = {
    new: [['investigating', kbt('pr2.006')], ['resolved', kbt('agent.164')]],
    investigating: [['known_error', kbt('pr2.008')], ['resolved', kbt('agent.164')]],
    known_error: [['resolved', kbt('agent.164')]],
    resolved: [['closed', kbt('agent.091')], ['reopened', kbt('pr2.010')]],
    closed: [],
  };
  const EVENT = {
    created: kbt('pr2.011'), edited: kbt('pr2.012'), investigating: kbt('pr2.013'), known_error: kbt('pr2.014'), resolved: kbt('pr2.015'),
    closed: kbt('pr2.016'), reopened: kbt('pr2.017'), linked: kbt('pr2.018'), unlinked: kbt('pr2.019'), known_error_drafted: kbt('pr2.020'),
  };
  const token = K.session.get(SESSION_KEY, null);
  let current = null;   // the problem shown
  let after = null;     // the list's next page

  const api = (method, path, json) => K.api(method, path, json || null, { token });

  function showError(e) {
    const p = $('page-error');
    p.textContent = e.status === 401 ? kbt('pr2.021') : kbt('admin.failed', [e.message]);
    p.hidden = false;
  }

  function say(text) {
    $('p-msg').textContent = text;
  }

  /* ---------- the list ---------- */

  function item(p) {
    return el('li', { class: 'qi', 'data-testid': 'problem-item', 'data-number': p.number },
      el('div', { class: 'qi-head' },
        el('button', { type: 'button', class: 'btn-link qi-no', onclick: () => open(p.number) }, p.number),
        el('span', { class: 'badge' }, STATUS[p.status] || p.status)),
      el('p', { class: 'qi-sum' }, p.summary),
      el('p', { class: 'qi-meta muted' }, kbt('pr2.023', [p.incidents, p.open_incidents, p.service || kbt('pr2.024')])));
  }

  async function load(more) {
    const status = $('status-filter').value;
    const q = new URLSearchParams({ limit: '50' });
    if (status) q.set('status', status);
    if (more && after) q.set('after', String(after));
    try {
      const r = await api('GET', `/api/v1/problems?${q}`);
      if (!more) $('list').replaceChildren();
      for (const p of r.items) $('list').append(item(p));
      after = r.next_after || null;
      $('more').hidden = !after;
    } catch (e) { showError(e); }
  }

  /* ---------- one problem ---------- */

  /* The edit form's fields by the API's names, and their values as last
   * filled in from the server (shown): what differs is the agent's unsaved
   * work, which a refresh (a link, a step, a known error drafted) keeps and
   * a save sends alone, so that it does not write back what someone else
   * changed meanwhile. */
  const FORM = {
    summary: 'f-summary', service: 'f-service', impact: 'f-impact', description: 'f-description',
    root_cause: 'f-root', workaround: 'f-workaround', fix: 'f-fix',
  };
  let shown = {};
  const formValues = () => Object.fromEntries(Object.entries(FORM).map(([k, id]) => [k, $(id).value]));
  const edited = () => Object.keys(FORM).filter((k) => $(FORM[k]).value !== shown[k]);
  /* problem p's values as the form shows them, by the API's names */
  const valuesOf = (p) => ({
    summary: p.summary, service: p.service || '', impact: String(p.impact), description: p.description,
    root_cause: p.root_cause, workaround: p.workaround, fix: p.fix,
  });

  function fill(p) {
    const same = current && current.number === p.number;
    current = p;
    $('detail').hidden = false;
    $('p-number').textContent = `${p.number} ${p.summary}`;
    $('p-status').textContent = STATUS[p.status] || p.status;
    $('p-status').dataset.status = p.status;
    if (!same || !edited().length) {
      for (const [k, v] of Object.entries(valuesOf(p))) $(FORM[k]).value = v;
      shown = formValues();
    }
    $('steps').replaceChildren(...(STEPS[p.status] || []).map(([ev, label]) =>
      el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `step-${ev}`, onclick: () => step(ev) }, label)));
    $('ke').replaceChildren(p.known_error
      ? el('span', null, kbt('pr2.025'), el('a', { href: `knowledge.html#${encodeURIComponent(p.known_error)}`, 'data-testid': 'known-error-link' }, p.known_error))
      : kbt('pr2.026'));
    $('ke-draft').hidden = !!p.known_error || p.status === 'closed';
    $('incidents').replaceChildren(...(p.incident_list || []).map((t) =>
      el('li', { 'data-testid': 'incident', 'data-number': t.number },
        el('a', { class: 'ticket-no', href: `agent.html#ticket=${encodeURIComponent(t.number)}` }, t.number), ' ', el('span', null, t.summary), ' ',
        el('span', { class: 'muted' }, K.TICKET_STATUS_LABEL[t.status] || t.status), ' ',
        el('button', { type: 'button', class: 'btn-link', 'data-testid': 'unlink', onclick: () => unlink(t.number) }, kbt('pr2.027')))));
    $('link-form').hidden = p.status === 'closed';
    $('events').replaceChildren(...(p.events || []).map((e) =>
      el('li', { 'data-testid': 'problem-event', 'data-type': e.type },
        el('time', null, K.fmtTime(e.at)), ' ', e.actor || kbt('agent.073'), ' ', EVENT[e.type] || e.type,
        e.ticket ? ` ${e.ticket}` : '', e.detail && e.detail.comment ? kbt('pr2.029', [e.detail.comment]) : '',
        e.detail && e.detail.fields ? kbt('x.paren', [e.detail.fields.map((f) => FIELD[f] || f).join(kbt('x.list_sep'))]) : '')));
  }

  async function open(number) {
    try {
      fill(await api('GET', `/api/v1/problems/${encodeURIComponent(number)}`));
      say('');
      history.replaceState(null, '', `#${number}`);
      $('p-number').focus();
    } catch (e) { showError(e); }
  }

  async function refresh() {
    if (current) fill(await api('GET', `/api/v1/problems/${encodeURIComponent(current.number)}`));
    await load(false);
  }

  async function step(ev) {
    try {
      const r = await api('POST', `/api/v1/problems/${encodeURIComponent(current.number)}/steps`, { event: ev });
      await refresh();
      say(ev === 'resolved' && r.told ? kbt('pr2.032', [r.told]) : kbt('pr2.033'));
    } catch (e) { say(kbt('pr2.034', [e.message])); }
  }

  async function unlink(ticket) {
    try {
      await api('DELETE', `/api/v1/problems/${encodeURIComponent(current.number)}/incidents/${encodeURIComponent(ticket)}`);
      await refresh();
    } catch (e) { say(kbt('pr2.035', [e.message])); }
  }

  $('edit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const now = formValues();
    const names = edited();
    const typed = (v, k) => (k === 'impact' ? Number(v) : v);
    const fields = Object.fromEntries(names.map((k) => [k, typed(now[k], k)]));
    if (!names.length) { say(kbt('x.nothing_changed')); return; }
    /* the values the agent started from: a field someone else changed
     * meanwhile is refused (409), not overwritten */
    fields.was = Object.fromEntries(names.map((k) => [k, typed(shown[k], k)]));
    try {
      await api('PATCH', `/api/v1/problems/${encodeURIComponent(current.number)}`, fields);
      shown = now; /* saved: the refresh shows the problem as stored */
      await refresh();
      say(kbt('hooks.saved'));
    } catch (e) {
      if (e.status !== 409) { say(kbt('pr2.037', [e.message])); return; }
      /* the form keeps the agent's values and takes the other person's as
       * its starting point: saving again replaces them on purpose */
      try {
        const fresh = await api('GET', `/api/v1/problems/${encodeURIComponent(current.number)}`);
        fill(fresh);
        const v = valuesOf(fresh);
        const changed = names.filter((k) => v[k] !== shown[k]);
        for (const k of changed) shown[k] = v[k];
        const brief = (x) => (x === '' ? '—' : x.length > 60 ? `${x.slice(0, 60)}…` : x);
        say(kbt('x.edit_conflict', [changed.map((k) => kbt('x.kv', [FIELD[k] || k, k === 'impact' ? IMPACT[v[k]] || v[k] : brief(v[k])]))
          .join(kbt('x.list_sep'))]));
      } catch (e2) { say(kbt('pr2.037', [e2.message])); }
    }
  });

  $('link-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ticket = $('link-ticket').value.trim().toUpperCase();
    if (!ticket) return;
    try {
      await api('POST', `/api/v1/problems/${encodeURIComponent(current.number)}/incidents`, { ticket });
      $('link-ticket').value = '';
      await refresh();
      say(kbt('agent.020', [ticket]));
    } catch (e) { say(kbt('aprob.003', [e.message])); }
  });

  $('ke-draft').addEventListener('click', async () => {
    try {
      const r = await api('POST', `/api/v1/problems/${encodeURIComponent(current.number)}/known-error`);
      await refresh();
      say(kbt('pr2.040', [r.knowledge_id]));
    } catch (e) { say(kbt('pr2.041', [e.message])); }
  });

  $('new-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const summary = $('new-summary').value.trim();
    if (!summary) return;
    try {
      const p = await api('POST', '/api/v1/problems', { summary });
      $('new-summary').value = '';
      await load(false);
      await open(p.number);
    } catch (e) { showError(e); }
  });

  $('status-filter').addEventListener('change', () => load(false));
  $('more').addEventListener('click', () => load(true));

  if (!token) {
    $('signin').hidden = false;
    return;
  }
  load(false).then(() => {
    const n = decodeURIComponent(location.hash.slice(1));
    if (/^PRB-\d+$/.test(n)) open(n);
  });
})();
