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
  let openNumber = null;

  const FIELD = { summary: '摘要', category: '分类', impact: '影响', urgency: '紧急度', priority: '优先级' };
  const LEVEL = { 1: '高', 2: '中', 3: '低' };

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

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${page.token()}` };
    if (body) headers['content-type'] = 'application/json';
    const r = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    const json = await r.json().catch(() => null);
    if (!r.ok) throw new Error((json && json.error && json.error.message) || `HTTP ${r.status}`);
    return json;
  }

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
      field('搜索（摘要和对话，中英文）', el('input', { name: 'q', type: 'search', maxlength: '200', 'data-testid': 'list-q' })),
      field('状态', select('status', [['', '全部'], ['new,assigned,pending,reopened', '未解决'], ['pending', '待用户反馈'], ['resolved', '已解决'], ['closed', '已关闭']], 'list-status')),
      field('优先级', select('priority', [['', '全部'], ['1', 'P1'], ['2', 'P2'], ['3', 'P3'], ['4', 'P4']], 'list-priority')),
      field('团队', select('team', [['', '全部'], ['none', '未分组']], 'list-team')),
      field('处理人', select('assignee', [['', '全部'], ['me', '我'], ['none', '未分配']], 'list-assignee')),
      field('分类', el('input', { name: 'category', type: 'text', maxlength: '200', 'data-testid': 'list-category' })),
      field('SLA', select('sla', [['', '全部'], ['warning', '预警'], ['breached', '超时'], ['ok', '正常'], ['none', '无 SLA']], 'list-sla')),
      field('创建自', el('input', { name: 'created_from', type: 'date', 'data-testid': 'list-created-from' })),
      field('创建至', el('input', { name: 'created_to', type: 'date', 'data-testid': 'list-created-to' })),
      field('更新自', el('input', { name: 'updated_from', type: 'date' })),
      field('更新至', el('input', { name: 'updated_to', type: 'date' })),
      field('排序', select('sort', [['', '默认（搜索时按相关度）'], ['updated', '最近更新'], ['created', '最近创建'], ['priority', '优先级']], 'list-sort')),
      el('button', { type: 'submit', class: 'btn', 'data-testid': 'list-search' }, '查找'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      filters = new URLSearchParams();
      for (const [k, v] of new FormData(form)) if (String(v).trim()) filters.set(k, String(v).trim());
      cursors = [];
      load('');
    });
    K.fill(root(),
      el('h2', { id: 'ws-list-title' }, '查找工单'),
      form,
      el('p', { class: 'inline-msg', role: 'status', 'data-testid': 'list-message', id: 'ws-list-msg' }),
      el('ol', { class: 'queue ws-results', id: 'ws-results', 'data-testid': 'list-results' }),
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'btn btn-sm', id: 'ws-prev', 'data-testid': 'list-prev', hidden: true, onclick: () => { cursors.pop(); load(cursors.pop() || ''); } }, '上一页'),
        el('button', { type: 'button', class: 'btn btn-sm', id: 'ws-next', 'data-testid': 'list-next', hidden: true, onclick: () => load(nextCursor) }, '下一页')));
  }

  function fillForm() {
    const form = root().querySelector('form');
    for (const input of form.elements) if (input.name) input.value = filters.get(input.name) || '';
  }

  async function load(after) {
    const msg = document.getElementById('ws-list-msg');
    const q = new URLSearchParams(filters);
    if (after) q.set('after', after);
    q.set('limit', '20');
    writeHash();
    msg.textContent = '正在查找…';
    try {
      const r = await api('GET', `/api/v1/tickets?${q}`);
      cursors.push(after || '');
      nextCursor = r.next;
      const list = document.getElementById('ws-results');
      list.replaceChildren(...r.tickets.map(listItem));
      msg.textContent = r.tickets.length ? `第 ${cursors.length} 页` : '没有找到工单。';
      msg.className = 'inline-msg muted';
      document.getElementById('ws-next').hidden = !r.next;
      document.getElementById('ws-prev').hidden = cursors.length < 2;
    } catch (e) {
      msg.textContent = `无法查找：${e.message}`;
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
        el('span', null, t.team_name ? `团队 ${t.team_name}` : '未分组'),
        el('span', null, t.agent ? `处理人 ${t.agent}` : '未分配'),
        el('span', null, `更新 ${K.fmtTime(t.updated_at)}`)));
  }

  /* ---------- the open ticket ---------- */

  const box = () => document.getElementById('ws-ticket');

  function ticketForms(t) {
    const editForm = el('form', { class: 'ws-edit', 'data-testid': 'edit-form' },
      field('摘要', el('input', { name: 'summary', value: t.summary || '', maxlength: '1000', 'data-testid': 'edit-summary' })),
      field('分类', el('input', { name: 'category', value: t.category || '', maxlength: '200', 'data-testid': 'edit-category' })),
      field('影响', select('impact', [['1', '高'], ['2', '中'], ['3', '低']], 'edit-impact')),
      field('紧急度', select('urgency', [['1', '高'], ['2', '中'], ['3', '低']], 'edit-urgency')),
      el('p', { class: 'muted inline-msg' }, '优先级由影响 × 紧急度决定（高×高 P1 … 低×低 P4）。'),
      el('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'edit-save' }, '保存修改'),
      el('span', { class: 'inline-msg', role: 'status', 'data-testid': 'edit-message', id: 'ws-edit-msg' }));
    editForm.elements.impact.value = String(t.impact || 2);
    editForm.elements.urgency.value = String(t.urgency || 2);
    editForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = editForm.elements;
      const frame = { type: 'edit', id: page.rid('edit', t.number), ticket: t.number,
        impact: Number(f.impact.value), urgency: Number(f.urgency.value), category: f.category.value.trim() };
      if (f.summary.value.trim()) frame.summary = f.summary.value.trim();
      say('ws-edit-msg', page.send(frame) ? '正在保存…' : '连接中断，请稍后再试。', '');
    });

    const noteForm = el('form', { class: 'ws-note', 'data-testid': 'note-form' },
      el('label', { class: 'fld' }, el('span', null, '内部备注（只有坐席能看到，用户永远看不到）'),
        el('textarea', { name: 'text', rows: '2', maxlength: '20000', 'data-testid': 'note-input' })),
      el('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'note-save' }, '添加备注'),
      el('span', { class: 'inline-msg', role: 'status', id: 'ws-note-msg', 'data-testid': 'note-message' }));
    noteForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = noteForm.elements.text.value.trim();
      if (!text) return;
      if (page.send({ type: 'note', id: page.rid('note', t.number), ticket: t.number, text })) {
        noteForm.elements.text.value = '';
        say('ws-note-msg', '正在保存…', '');
      } else say('ws-note-msg', '连接中断，请稍后再试。', 'err');
    });

    const teamSel = select('team', [['', '（不变）']], 'transfer-team');
    const agentSel = select('agent', [['', '（不指定坐席）']], 'transfer-agent');
    const transferForm = el('form', { class: 'ws-transfer', 'data-testid': 'transfer-form' },
      field('转到团队', teamSel), field('指派给', agentSel),
      field('原因', el('input', { name: 'reason', maxlength: '2000', 'data-testid': 'transfer-reason' })),
      el('button', { type: 'submit', class: 'btn btn-sm', 'data-testid': 'transfer-save' }, '转派'),
      el('span', { class: 'inline-msg', role: 'status', id: 'ws-transfer-msg', 'data-testid': 'transfer-message' }));
    transferForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const f = transferForm.elements;
      const frame = { type: 'transfer', id: page.rid('transfer', t.number), ticket: t.number, reason: f.reason.value.trim() };
      if (f.team.value) frame.team = f.team.value;
      if (f.agent.value) frame.agent = Number(f.agent.value);
      if (!frame.reason) { say('ws-transfer-msg', '请写明转派原因。', 'err'); return; }
      if (!frame.team && !frame.agent) { say('ws-transfer-msg', '请选择团队或坐席。', 'err'); return; }
      say('ws-transfer-msg', page.send(frame) ? '正在转派…' : '连接中断，请稍后再试。', '');
    });

    return [
      el('section', { 'aria-labelledby': 'ws-edit-title' }, el('h3', { id: 'ws-edit-title' }, '工单字段'), editForm),
      el('section', { 'aria-labelledby': 'ws-notes-title' }, el('h3', { id: 'ws-notes-title' }, '内部备注'),
        el('ol', { class: 'plain-list', id: 'ws-notes', 'data-testid': 'notes' }), noteForm),
      el('section', { 'aria-labelledby': 'ws-transfer-title' }, el('h3', { id: 'ws-transfer-title' }, '转派 / 指派'), transferForm),
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
      el('time', null, K.fmtTime(n.at)), ` ${n.by || ''}：`, el('span', { 'data-testid': 'note-text' }, n.text)))
      : [el('li', { class: 'muted inline-msg' }, '还没有内部备注。')]));
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
      const keep = box().contains(document.activeElement);
      if (!keep) K.fill(box(), ...ticketForms(f.ticket));
      fillTransferOptions();
      renderNotes();
    },
    onTicket(f) {
      const [kind] = f.id.split(':');
      if (kind === 'edit') { say('ws-edit-msg', '已保存。', 'good'); page.announce(`工单 ${f.number} 已修改`); }
      if (kind === 'transfer') { say('ws-transfer-msg', '已转派。', 'good'); page.announce(`工单 ${f.number} 已转派`); }
    },
    onNote(f) {
      const cur = page && page.current();
      if (!cur || f.ticket !== cur.number || !f.note) return;
      notes.push(f.note);
      renderNotes();
      say('ws-note-msg', '备注已保存（用户看不到）。', 'good');
      page.send({ type: 'open', id: page.rid('open', f.ticket), ticket: f.ticket });
    },
    onError(kind, key, f) {
      const id = { edit: 'ws-edit-msg', note: 'ws-note-msg', transfer: 'ws-transfer-msg' }[kind];
      say(id, K.errorText(f), 'err');
    },
    /* the history's details: old -> new, the reason of a transfer */
    eventDetail(e) {
      const d = e.detail;
      if (!d) return '';
      if (e.type === 'edited' && d.field) {
        const v = (x) => (x === null || x === undefined || x === '' ? '（空）'
          : d.field === 'priority' ? `P${x}` : d.field === 'impact' || d.field === 'urgency' ? LEVEL[x] || x : x);
        return `${FIELD[d.field] || d.field}：${v(d.from)} → ${v(d.to)}`;
      }
      if (e.type === 'transferred' || e.type === 'assigned') {
        const team = (s) => (teams.find((x) => x.slug === s) || {}).name || s || '—';
        const who = (id) => (agents.find((a) => a.id === id) || {}).name || (id ? `#${id}` : '—');
        return `${team(d.from_team)} → ${team(d.to_team)}${e.type === 'assigned' ? `，指派给 ${who(d.to_agent)}` : ''}；原因：${d.reason}`;
      }
      if (e.type === 'merged') return `合并到 ${d.into}`;
      if (e.type === 'merged_from') return `合并了 ${d.from}`;
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
