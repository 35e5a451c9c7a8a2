/* The audit-log page (audit.html), for administrators: searches
 * GET /api/v1/audit with the session token the agent page keeps in
 * sessionStorage, pages on by `before`, and exports what is shown as CSV
 * (built here from the same rows, UTF-8 with a byte-order mark so that
 * spreadsheet programs read Chinese). Text is always set as text. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const token = K.session.get('kbdesk.agent.session', null);
  let rows = [];
  let before = null;
  /* the log's object types and actions (the audit_log table's checks) and
   * the actors' roles, in words; the CSV keeps the codes */
  const TYPE_LABEL = {
    ticket: kbt('mr.025'), knowledge: kbt('aud2.type_knowledge'), problem: kbt('mr.029'),
    ci: kbt('aud2.type_ci'), person: kbt('aud2.type_person'), role: kbt('aud2.type_role'), report: kbt('aud2.type_report'),
    setting: kbt('aud2.type_setting'), attachment: kbt('aud2.type_attachment'), audit: kbt('admin.to_audit'),
  };
  const ACTION_LABEL = { read: kbt('aud2.act_read'), change: kbt('aud2.act_change'), export: kbt('aud2.act_export') };
  const ROLE_LABEL = { requester: kbt('admin.role_requester'), agent: kbt('admin.role_agent'), admin: kbt('admin.role_admin') };
  $('f-type').append(...Object.entries(TYPE_LABEL).map(([v, label]) => el('option', { value: v }, label)));

  /* A row's detail (the JSON object the server recorded) in words: a
   * changed field as "Field: old → new", other members as "Name: value";
   * the exact record stays in the cell's tooltip and in the CSV. */
  const KEY_LABEL = {
    role: kbt('audit.013'), team: kbt('tickets.006'), team_lead: kbt('admin.team_lead'),
    knowledge_reviewer: kbt('admin.reviewer'), disabled: kbt('admin.disabled'), name: kbt('aud2.k_name'),
    name_en: kbt('admin.name_en'), person: kbt('aud2.type_person'), ticket: kbt('mr.025'),
    op: kbt('aud2.k_op'), count: kbt('aud2.k_count'), step: kbt('aud2.k_step'), change: kbt('aud2.k_change'),
    os_user: kbt('aud2.k_os_user'), object_type: kbt('aud2.k_object_type'), object_id: kbt('aud2.k_object_id'),
    actor: kbt('aud2.k_actor'), file_value: kbt('aud2.k_file_value'),
  };
  /* values in words where the member says what they are */
  const VALUE_LABEL = { role: ROLE_LABEL, object_type: TYPE_LABEL };
  const shown = (v, key) => (v === null || v === undefined || v === '' ? '—' : v === true ? kbt('aud2.yes') : v === false ? kbt('aud2.no')
    : typeof v === 'object' ? JSON.stringify(v) : (VALUE_LABEL[key] || {})[v] || String(v));
  function detailText(d) {
    if (d === null || d === undefined) return '';
    if (typeof d !== 'object' || Array.isArray(d)) return JSON.stringify(d);
    const rest = { ...d };
    const parts = [];
    if ('from' in d && 'to' in d) {
      const change = `${shown(d.from, d.field)} → ${shown(d.to, d.field)}`;
      parts.push(typeof d.field === 'string' ? kbt('x.kv', [KEY_LABEL[d.field] || d.field, change]) : change);
      delete rest.field; delete rest.from; delete rest.to;
    }
    for (const [k, v] of Object.entries(rest)) parts.push(kbt('x.kv', [KEY_LABEL[k] || k, shown(v, k)]));
    return parts.join(kbt('x.kv_sep'));
  }

  const day = (v, end) => (v ? Math.floor(new Date(`${v}T00:00:00+08:00`).getTime() / 1000) + (end ? 86400 : 0) : null);

  async function search(more) {
    const q = new URLSearchParams({ limit: '200' });
    const type = $('f-type').value, id = $('f-id').value.trim(), actor = $('f-actor').value.trim();
    if (type) q.set('object_type', type);
    if (id) q.set('object_id', id);
    if (actor) q.set('actor', actor);
    const from = day($('f-from').value, false), to = day($('f-to').value, true);
    if (from) q.set('from', String(from));
    if (to) q.set('to', String(to));
    if (more && before) q.set('before', String(before));
    const r = await K.apiCall('GET', `/api/v1/audit?${q}`, null, { token });
    const body = r.body;
    if (r.status < 200 || r.status >= 300) {
      $('page-error').textContent = r.status === 403 ? kbt('aud2.001')
        : kbt('aud2.002', [body && body.error ? body.error.message : r.status]);
      $('page-error').hidden = false;
      return;
    }
    $('page-error').hidden = true;
    if (!more) { rows = []; $('rows').replaceChildren(); }
    for (const x of body.items) {
      rows.push(x);
      $('rows').append(el('tr', { 'data-testid': 'audit-row', 'data-action': x.action, 'data-type': x.object_type },
        el('td', null, K.fmtTime(x.at)), el('td', null, x.actor || (x.actor_id ? `#${x.actor_id}` : kbt('agent.073'))),
        el('td', null, ROLE_LABEL[x.actor_role] || x.actor_role || ''), el('td', null, x.address || ''),
        el('td', { 'data-testid': 'audit-action' }, ACTION_LABEL[x.action] || x.action),
        el('td', { 'data-testid': 'audit-object' }, `${TYPE_LABEL[x.object_type] || x.object_type} ${x.object_id}`),
        el('td', { 'data-testid': 'audit-detail', title: x.detail == null ? '' : kbt('aud2.raw', [JSON.stringify(x.detail)]) },
          detailText(x.detail))));
    }
    before = body.next_before || null;
    $('more').hidden = !before;
  }

  function csvCell(v) {
    const s = v === null || v === undefined ? '' : String(v);
    return /[",\n\r]/.test(s) || /^[=+\-@]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  $('csv').addEventListener('click', () => {
    const head = ['id', 'at', 'actor_id', 'actor', 'actor_role', 'address', 'action', 'object_type', 'object_id', 'detail'];
    const lines = [head.join(',')].concat(rows.map((x) => head.map((k) =>
      csvCell(k === 'at' ? new Date(x.at * 1000).toISOString() : k === 'detail' ? JSON.stringify(x.detail) : x[k])).join(',')));
    const blob = new Blob(['\ufeff' + lines.join('\r\n') + '\r\n'], { type: 'text/csv;charset=utf-8' });
    const a = el('a', { href: URL.createObjectURL(blob), download: 'audit-log.csv' });
    document.body.append(a);
    a.click();
    a.remove();
  });

  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); search(false); });
  $('more').addEventListener('click', () => search(true));
  if (!token) { $('signin').hidden = false; return; }
  search(false);
})();
