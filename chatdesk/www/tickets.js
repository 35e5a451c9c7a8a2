/* kbdesk agent page, the workspace (loaded before agent.js, which calls the
 * hooks of window.kbdeskWorkspace):
 *
 *   - the ticket list: filters (text, status, priority, team, assignee,
 *     category, created / updated dates), sort and paging, over
 *     GET /api/v1/tickets with the page's session token (README "The agents'
 *     workspace"); closed tickets are found too;
 *   - on the open ticket: its fields (summary, category, impact, urgency)
 *     edited over WebSocket ("edit"), internal notes ("note": the requester
 *     never receives them), assign / transfer to a team or an agent with a
 *     reason ("transfer"), and the history's details (old -> new, reasons);
 *   - the URL hash keeps the open ticket and the list's filters
 *     (#ticket=INC-000001&list=q%3D...), so a reload or a shared link comes
 *     back to the same place; opening a ticket never takes or releases it.
 *
 * Text from the server is always inserted as text (common.js's el). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;
  let page = null;            // agent.js's workspaceApi, once logged in
  let teams = [];             // [{slug, name, members:[{id,name}]}]
  let agents = [];            // [{id, name, username, teams}]
  let filters = new URLSearchParams();
  let nextCursor = null;
  let cursors = [];           // the cursors of the pages shown so far ('' for the first)
  let notes = [];
  let sentNote = null;        // the id of the last note frame this page sent
  let openNumber = null;

  const FIELD = { summary: kbt('tickets.001'), category: kbt('agent.123'), impact: kbt('tickets.002'), urgency: kbt('tickets.003'), priority: kbt('common.022') };
  const LEVEL = { 1: kbt('common.013'), 2: kbt('common.014'), 3: kbt('common.015') };
  /* a field's value in words: none, a priority, a level */
  const fieldValue = (field, x) => (x === null || x === undefined || x === '' ? kbt('tickets.048')
    : field === 'priority' ? `P${x}` : field === 'impact' || field === 'urgency' ? LEVEL[x] || x : x);

  /* ---------- the URL hash ---------- */

  function readHash() {
    const h = new URLSearchParams(location.hash.replace(/^#/, ''));
    return { ticket: h.get('ticket'), list: new URLSearchParams(h.get('list') || '') };
  }

  function writeHash() {
    const h = new URLSearchParams();
    if (openNumber) h.set('ticket', openNumber);
    const l = filters.toString();
    if (l) h.set('list', l);
    const s = h.toString();
    history.replaceState(null, '', s ? `#${s}` : location.pathname + location.search);
  }

  /* ---------- the API ---------- */

  const api = (method, path, body) => K.api(method, path, body || null, { token: page.token() });

  /* ---------- the list ---------- */

  const root = () => document.getElementById('ws-list');

  function field(label, input) {
    return el('label', { class: 'fld ws-fld' }, el('span', null, label), input);
  }

  function select(name, options, testid) {
    return el('select', { name, 'data-testid': testid },
      ...options.map(([v, t]) => el('option', { value: v }, t)));
  }

  function buildList() {
    const form = el('form', { class: 'ws-filters', 'data-testid': 'list-form', role: 'search' },
      field(kbt('tickets.004'), el('input', { name: 'q', type: 'search', maxlength: '200', 'data-testid': 'list-q' })),
      field(kbt('agent.126'), select('status', [['', kbt('tickets.005')], ['new,assigned,pending,reopened', kbt('common.004')], ['pending', kbt('x.status_pending')], ['resolved', kbt('common.006')], ['closed', kbt('common.011')]], 'list-status')),
      field(kbt('common.022'), select('priority', [['', kbt('tickets.005')], ['1', 'P1'], ['2', 'P2'], ['3', 'P3'], ['4', 'P4']], 'list-priority')),
      field(kbt('tickets.006'), select('team', [['', kbt('tickets.005')], ['none', kbt('tickets.007')]], 'list-team')),
      field(kbt('tickets.008'), select('assignee', [['', kbt('tickets.005')], ['me', kbt('tickets.009')], ['none', kbt('agent.049')]], 'list-assignee')),
      field(kbt('agent.123'), el('input', { name: 'category', type: 'text', maxlength: '200', 'data-testid': 'list-category' })),
      field(kbt('x.sla'), select('sla', [['', kbt('tickets.005')], ['warning', kbt('x.sla_warning_opt')], ['breached', kbt('x.sla_breached_opt')], ['ok', kbt('x.sla_ok_opt')], ['none', kbt('x.sla_none_opt')]], 'list-sla')),
      field(kbt('tickets.010'), el('input', { name: 'created_from', type: 'date', 'data-testid': 'list-created-from' })),
      field(kbt('tickets.011'), el('input', { name: 'created_to', type: 'date', 'data-testid': 'list-created-to' })),
      field(kbt('tickets.012'), el('input', { name: 'updated_from', type: 'date' })),
      field(kbt('tickets.013'), el('input', { name: 'updated_to', type: 'date' })),
      field(kbt('tickets.014'), select('sort', [['', kbt('tickets.015')], ['updated', kbt('tickets.016')], ['created', kbt('tickets.017')], ['priority', kbt('common.022')]], 'list-sort')),
      el('button', { type: 'submit', class: 'btn', 'data-testid': 'list-search' }, kbt('tickets.018')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      filters = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (String(v).trim()) filters.set(k, String(v).trim());
      cursors = [];
      load('');
    });
    K.fill(root(),
      el('h2', { id: 'ws-list-title' }, kbt('tickets.019')),
      form,
      el('p', { class: 'inline-msg', role: 'status', 'data-testid': 'list-message', id: 'ws-list-msg' }),
      el('ol', { class: 'queue ws-results', id: 'ws-results', 'data-testid': 'list-results' }),
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'btn btn-sm', id: 'ws-prev', 'data-testid': 'list-prev', hidden: true, onclick: () => { cursors.pop(); load(cursors.pop() || ''); } }, kbt('tickets.020')),
        el('button', { type: 'button', class: 'btn btn-sm', id: 'ws-next', 'data-testid': 'list-next', hidden: true, onclick: () => load(nextCursor) }, kbt('tickets.021'))));
  }

  function fillForm() {
    const form = root().querySelector('form');
    for (const input of form.elements) if (input.name) input.value = filters.get(input.name) || '';
  }

  let loadSeq = 0; /* the latest load(); an older answer arriving later is dropped */
  async function load(after) {
    const seq = ++loadSeq;
    const msg = document.getElementById('ws-list-msg');
    const q = new URLSearchParams(filters);
    if (after) q.set('after', after);
    q.set('limit', '20');
    writeHash();
    msg.textContent = kbt('tickets.022');
    try {
      const r = await api('GET', `/api/v1/tickets?${q}`);
      if (seq !== loadSeq) return; /* a newer search was started meanwhile */
      cursors.push(after || '');
      nextCursor = r.next;
      const list = document.getElementById('ws-results');
      list.replaceChildren(...r.tickets.map(listItem));
      msg.textContent = r.tickets.length ? kbt('tickets.023', [cursors.length]) : kbt('tickets.024');
      msg.className = 'inline-msg muted';
      document.getElementById('ws-next').hidden = !r.next;
      document.getElementById('ws-prev').hidden = cursors.length < 2;
    } catch (e) {
      if (seq !== loadSeq) return;
      msg.textContent = kbt('tickets.025', [e.message]);
      msg.className = 'inline-msg err';
    }
  }

  function listItem(t) {
    return el('li', { class: 'qi', 'data-number': t.number, 'data-status': t.status, 'data-testid': 'list-item' },
      el('div', { class: 'qi-head' },
        el('button', { type: 'button', class: 'btn-link qi-no', 'data-testid': 'list-open', onclick: () => page.openTicket(t.number) }, t.number),
        K.priorityBadge(t.priority, 'list-priority-badge'), K.statusBadge(t.status, 'list-status-badge')),
      el('div', { class: 'qi-sum' }, t.summary || ''),
      el('div', { class: 'qi-meta' },
        el('span', null, t.team_name ? kbt('tickets.026', [t.team_name]) : kbt('tickets.007')),
        el('span', null, t.agent ? kbt('agent.048', [t.agent]) : kbt('agent.049')),
        el('span', null, kbt('tickets.027', [K.fmtTime(t.updated_at)]))));
  }

  /* ---------- the open ticket ---------- */

  const box = () => document.getElementById('ws-ticket');

  /* A form's values as built (data-clean), so that a reload of the ticket
   * (any change to it, by anyone) does not wipe what the agent typed and
   * has not sent yet. */
  const formValues = (form) => JSON.stringify(Object.fromEntries([...form.elements].filter((e) => e.name).map((e) => [e.name, e.value])));
  const markClean = (form) => { if (form) form.dataset.clean = formValues(form); };
  const unsent = () => [...box().querySelectorAll('form[data-clean]')].some((f) => f.dataset.clean !== formValues(f));

  /* The edit form's values for ticket t, by field name. */
  const editValues = (t) => ({
    summary: t.summary || '', category: t.category || '', impact: String(t.impact || 2), urgency: String(t.urgency || 2),
  });

  /* The fields of a save refused because someone else changed them
   * meanwhile (error "conflict"), until the ticket's fresh values arrive. */
  let conflicted = null;

  /* After a refused save: the form keeps the agent's values, says which
   * fields someone else changed and to what, and takes those values as
   * its starting point, so that saving again replaces them on purpose. */
  function showConflict(t) {
    const form = box().querySelector('form.ws-edit');
    if (!form || !form.dataset.clean || !conflicted) return;
    const was = JSON.parse(form.dataset.clean);
    const now = editValues(t);
    const names = conflicted.filter((k) => k in now);
    for (const k of names) was[k] = now[k];
    form.dataset.clean = JSON.stringify(was);
    conflicted = null;
    say('ws-edit-msg', kbt('x.edit_conflict', [names.map((k) => kbt('x.kv', [FIELD[k], fieldValue(k, now[k])])).join(kbt('x.list_sep'))]), 'err');
  }

  /* A kept edit form still shows the ticket as it is now in the fields the
   * agent has not touched. */
  function refreshUntouched(t) {
    const form = box().querySelector('form.ws-edit');
    if (!form || !form.dataset.clean) return;
    const was = JSON.parse(form.dataset.clean);
    for (const [k, v] of Object.entries(editValues(t))) {
      if (form.elements[k].value === was[k]) was[k] = form.elements[k].value = v;
    }
    form.dataset.clean = JSON.stringify(was);
  }

  function ticketForms(t) {
    const editForm = el('form', { class: 'ws-edit', 'data-testid': 'edit-form' },
      field(kbt('tickets.001'), el('input', { name: 'summary', maxlength: '1000', 'data-testid': 'edit-summary' })),
      field(kbt('agent.123'), el('input', { name: 'category', maxlength: '200', 'data-testid': 'edit-category' })),
      field(kbt('tickets.002'), select('impact', [['1', kbt('common.013')], ['2', kbt('common.014')], ['3', kbt('common.015')]], 'edit-impact')),
      field(kbt('tickets.003'), select('urgency', [['1', kbt('common.013')], ['2', kbt('common.014')], ['3', kbt('common.015')]], 'edit-urgency')),
      el('p', { class: 'muted inline-msg' }, kbt('tickets.028')),
      el('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'edit-save' }, kbt('tickets.029')),
      el('span', { class: 'inline-msg', role: 'status', 'data-testid': 'edit-message', id: 'ws-edit-msg' }));
    for (const [k, v] of Object.entries(editValues(t))) editForm.elements[k].value = v;
    editForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = editForm.elements;
      /* only what the agent changed: a field someone else changed
       * meanwhile is not overwritten with the value shown */
      const was = JSON.parse(editForm.dataset.clean || '{}');
      const changed = (name) => f[name].value !== was[name];
      const frame = { type: 'edit', id: page.rid('edit', t.number), ticket: t.number };
      if (changed('impact')) frame.impact = Number(f.impact.value);
      if (changed('urgency')) frame.urgency = Number(f.urgency.value);
      if (changed('category')) frame.category = f.category.value.trim();
      if (changed('summary') && f.summary.value.trim()) frame.summary = f.summary.value.trim();
      if (Object.keys(frame).length === 3) { say('ws-edit-msg', kbt('x.nothing_changed'), ''); return; }
      /* the values the agent started from: a field someone else changed
       * meanwhile is refused (error "conflict"), not overwritten */
      frame.was = {};
      for (const k of ['summary', 'category', 'impact', 'urgency']) {
        if (k in frame) frame.was[k] = k === 'impact' || k === 'urgency' ? Number(was[k]) : was[k];
      }
      say('ws-edit-msg', page.send(frame) ? kbt('tickets.030') : kbt('agent.055'), '');
    });

    const noteForm = el('form', { class: 'ws-note', 'data-testid': 'note-form' },
      el('label', { class: 'fld' }, el('span', null, kbt('tickets.031')),
        el('textarea', { name: 'text', rows: '2', maxlength: '20000', 'data-testid': 'note-input' })),
      el('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'note-save' }, kbt('tickets.032')),
      el('span', { class: 'inline-msg', role: 'status', id: 'ws-note-msg', 'data-testid': 'note-message' }));
    noteForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = noteForm.elements.text.value.trim();
      if (!text) return;
      sentNote = page.rid('note', t.number);
      if (page.send({ type: 'note', id: sentNote, ticket: t.number, text })) {
        noteForm.elements.text.value = '';
        say('ws-note-msg', kbt('tickets.030'), '');
      } else say('ws-note-msg', kbt('agent.055'), 'err');
    });

    const teamSel = select('team', [['', kbt('tickets.033')]], 'transfer-team');
    const agentSel = select('agent', [['', kbt('tickets.034')]], 'transfer-agent');
    const transferForm = el('form', { class: 'ws-transfer', 'data-testid': 'transfer-form' },
      field(kbt('tickets.035'), teamSel), field(kbt('tickets.036'), agentSel),
      field(kbt('agent.119'), el('input', { name: 'reason', maxlength: '2000', 'data-testid': 'transfer-reason' })),
      el('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'transfer-save' }, kbt('agent.097')),
      el('span', { class: 'inline-msg', role: 'status', id: 'ws-transfer-msg', 'data-testid': 'transfer-message' }));
    transferForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = transferForm.elements;
      const frame = { type: 'transfer', id: page.rid('transfer', t.number), ticket: t.number, reason: f.reason.value.trim() };
      if (f.team.value) frame.team = f.team.value;
      if (f.agent.value) frame.agent = Number(f.agent.value);
      if (!frame.reason) { say('ws-transfer-msg', kbt('tickets.037'), 'err'); return; }
      if (!frame.team && !frame.agent) { say('ws-transfer-msg', kbt('tickets.038'), 'err'); return; }
      say('ws-transfer-msg', page.send(frame) ? kbt('tickets.039') : kbt('agent.055'), '');
    });

    for (const f of [editForm, noteForm, transferForm]) markClean(f);
    return [
      el('section', { 'aria-labelledby': 'ws-edit-title' }, el('h3', { id: 'ws-edit-title' }, kbt('tickets.040')), editForm),
      el('section', { 'aria-labelledby': 'ws-notes-title' }, el('h3', { id: 'ws-notes-title' }, kbt('agent.095')),
        el('ol', { class: 'plain-list', id: 'ws-notes', 'data-testid': 'notes' }), noteForm),
      el('section', { 'aria-labelledby': 'ws-transfer-title' }, el('h3', { id: 'ws-transfer-title' }, kbt('tickets.041')), transferForm),
    ];
  }

  /* The transfer form's teams and agents, once they are known (the forms
   * may be built before they arrive). */
  function fillTransferOptions() {
    const team = box().querySelector('select[name=team]');
    const agent = box().querySelector('select[name=agent]');
    if (team && team.options.length === 1) for (const x of teams) team.append(el('option', { value: x.slug }, x.name));
    if (agent && agent.options.length === 1) for (const a of agents) agent.append(el('option', { value: String(a.id) }, a.name));
  }

  function say(id, text, cls) {
    const n = document.getElementById(id);
    if (n) { n.textContent = text; n.className = `inline-msg ${cls || ''}`; }
  }

  function renderNotes() {
    const list = document.getElementById('ws-notes');
    if (!list) return;
    list.replaceChildren(...(notes.length ? notes.map((n) => el('li', { 'data-testid': 'note' },
      el('time', null, K.fmtTime(n.at)), ' ', kbt('x.kv', [n.by || '', '']), el('span', { 'data-testid': 'note-text' }, n.text)))
      : [el('li', { class: 'muted inline-msg' }, kbt('tickets.042'))]));
  }

  /* ---------- hooks called by agent.js ---------- */

  window.kbdeskWorkspace = {
    /* logged in: the teams and agents for the forms, the list from the hash */
    ready(api_) {
      const first = !page;
      page = api_;
      if (!first) return;
      buildList();
      filters = readHash().list;
      fillForm();
      Promise.all([api('GET', '/api/v1/teams'), api('GET', '/api/v1/people?role=agent')]).then(([t, p]) => {
        teams = t.teams;
        agents = p.people;
        const sel = root().querySelector('select[name=team]');
        for (const x of teams) sel.append(el('option', { value: x.slug }, x.name));
        fillForm();
        fillTransferOptions();
      }).catch(() => { /* the forms work without the names */ });
      load('');
    },
    hashTicket: () => readHash().ticket,
    onOpen(number) {
      if (openNumber !== number) { notes = []; box().replaceChildren(); }
      openNumber = number;
      writeHash();
    },
    onClose() {
      openNumber = null;
      notes = [];
      box().replaceChildren();
      writeHash();
    },
    onTranscript(f) {
      notes = Array.isArray(f.notes) ? f.notes : [];
      /* the forms show the ticket as it is now, unless the agent is in
       * them or has typed something not sent */
      const keep = box().contains(document.activeElement) || unsent();
      if (!keep) K.fill(box(), ...ticketForms(f.ticket));
      else if (f.ticket) { refreshUntouched(f.ticket); showConflict(f.ticket); }
      fillTransferOptions();
      renderNotes();
    },
    onTicket(f) {
      const [kind] = f.id.split(':');
      if (kind === 'edit') { markClean(box().querySelector('form.ws-edit')); say('ws-edit-msg', kbt('tickets.043'), 'good'); page.announce(kbt('tickets.044', [f.number])); }
      if (kind === 'transfer') { markClean(box().querySelector('form.ws-transfer')); say('ws-transfer-msg', kbt('tickets.045'), 'good'); page.announce(kbt('tickets.046', [f.number])); }
    },
    /* a note on the open ticket: this page's (answered with its frame id)
     * or a colleague's, which every agent's page receives */
    onNote(f) {
      const cur = page && page.current();
      if (!cur || f.ticket !== cur.number || !f.note || notes.some((n) => n.id === f.note.id)) return;
      notes.push(f.note);
      renderNotes();
      if (f.id && f.id === sentNote) say('ws-note-msg', kbt('tickets.047'), 'good');
      page.send({ type: 'open', id: page.rid('open', f.ticket), ticket: f.ticket });
    },
    onError(kind, key, f) {
      const id = { edit: 'ws-edit-msg', note: 'ws-note-msg', transfer: 'ws-transfer-msg' }[kind];
      say(id, K.errorText(f), 'err');
      const cur = page && page.current();
      if (kind === 'edit' && f.code === 'conflict' && cur && cur.number === key) {
        /* the fresh ticket says what the other person set (not when the
         * agent has meanwhile opened another ticket) */
        conflicted = String(f.field || '').split(',').filter(Boolean);
        page.send({ type: 'open', id: page.rid('open', cur.number), ticket: cur.number });
      }
    },
    /* the history's details: old -> new, the reason of a transfer */
    eventDetail(e) {
      const d = e.detail;
      if (!d) return '';
      if (e.type === 'edited' && d.field) {
        return kbt('x.kv', [FIELD[d.field] || d.field, `${fieldValue(d.field, d.from)} → ${fieldValue(d.field, d.to)}`]);
      }
      if (e.type === 'transferred' || e.type === 'assigned') {
        const team = (s) => (teams.find((x) => x.slug === s) || {}).name || s || '—';
        const who = (id) => (agents.find((a) => a.id === id) || {}).name || (id ? `#${id}` : '—');
        return kbt('tickets.050', [team(d.from_team), team(d.to_team), e.type === 'assigned' ? kbt('tickets.049', [who(d.to_agent)]) : '', d.reason]);
      }
      if (e.type === 'merged') return kbt('tickets.051', [d.into]);
      if (e.type === 'merged_from') return kbt('tickets.052', [d.from]);
      if (e.type === 'rated' && d.score) return `${'★'.repeat(d.score)}`;
      return '';
    },
  };

  window.addEventListener('hashchange', () => {
    if (!page) return;
    const h = readHash();
    if (h.ticket && h.ticket !== openNumber) page.openTicket(h.ticket);
    if (h.list.toString() !== filters.toString()) { filters = h.list; fillForm(); cursors = []; load(''); }
  });
})();
