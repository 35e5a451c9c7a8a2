/* The administration page (admin.html), for administrators: people and
 * their roles, teams and members, ticket categories with their default
 * teams, and the runtime settings, through /api/v1/admin/... with the
 * session token the agent page keeps in sessionStorage. Anyone else gets
 * the refusal (the API answers 403 before reading anything). Every change
 * is audited by the server. The group robots and integration webhooks
 * (/api/v1/robots, /api/v1/webhooks) are listed, added and deleted here too. Text is always set as text. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const token = K.session.get('kbdesk.agent.session', null);
  let teams = [];

  /* common.js's API call, its answer as {ok, status, data} (data: the
   * JSON, or on failure the API's error body) */
  const api = (method, path, body) => K.apiCall(method, path, body, { token })
    .then((r) => ({ ok: r.status >= 200 && r.status < 300, status: r.status, data: r.body }));

  function say(text, err) {
    $('msg').textContent = text;
    $('msg').className = `inline-msg ${err ? 'err' : 'good'}`;
  }

  function failed(r) {
    if (r.status === 403) { refuse(); return; }
    say(kbt('admin.failed', [r.data && r.data.error ? r.data.error.message : r.status]), true);
  }

  function refuse() {
    $('panes').hidden = true;
    $('refused').hidden = false;
  }

  const ROLE_LABEL = () => ({ agent: kbt('admin.role_agent'), admin: kbt('admin.role_admin'), requester: kbt('admin.role_requester') });
  const teamName = (t) => (window.kbdeskI18n.lang === 'en' && t.name_en ? t.name_en : t.name);

  /* ---------- people ---------- */

  async function loadPeople() {
    const q = new URLSearchParams();
    if ($('people-q').value.trim()) q.set('q', $('people-q').value.trim());
    if ($('people-role').value) q.set('role', $('people-role').value);
    const r = await api('GET', `/api/v1/admin/people?${q}`);
    if (!r.ok) { failed(r); return; }
    $('people-rows').replaceChildren(...r.data.people.map(personRow));
  }

  function personRow(p) {
    const staff = p.role !== 'requester';
    const labels = ROLE_LABEL();
    const role = staff
      ? el('select', { 'data-testid': 'admin-role', 'aria-label': kbt('audit.013') },
        ['agent', 'admin'].map((r) => el('option', { value: r, selected: p.role === r }, labels[r])))
      : el('span', null, labels.requester);
    const box = (name, on, label) => el('label', { class: 'fld-inline' },
      el('input', { type: 'checkbox', 'data-testid': `admin-${name}`, checked: on, disabled: !staff }), ` ${label}`);
    const lead = box('team_lead', p.roles.includes('team_lead'), kbt('admin.team_lead'));
    const reviewer = box('knowledge_reviewer', p.roles.includes('knowledge_reviewer'), kbt('admin.reviewer'));
    const disabled = el('input', { type: 'checkbox', 'data-testid': 'admin-disabled', checked: p.disabled, 'aria-label': kbt('admin.disabled') });
    const save = el('button', {
      type: 'button', class: 'btn btn-sm', 'data-testid': 'admin-person-save',
      onclick: async () => {
        const body = { disabled: disabled.checked };
        if (staff) {
          body.role = role.value;
          body.team_lead = lead.querySelector('input').checked;
          body.knowledge_reviewer = reviewer.querySelector('input').checked;
        }
        const r = await api('PATCH', `/api/v1/admin/people/${p.id}`, body);
        if (!r.ok) { failed(r); return; }
        say(kbt('admin.saved_person', [p.name]));
        await loadPeople();
      },
    }, kbt('pr.013'));
    return el('tr', { 'data-testid': 'admin-person', 'data-id': p.id, 'data-username': p.username || '' },
      el('td', null, p.name), el('td', null, p.username || p.email || ''), el('td', null, role),
      el('td', null, lead, ' ', reviewer), el('td', null, p.teams.join(', ')), el('td', null, disabled), el('td', null, save));
  }

  /* ---------- teams ---------- */

  async function loadTeams() {
    const [t, p, a] = await Promise.all([api('GET', '/api/v1/teams'), api('GET', '/api/v1/admin/people?role=agent'),
      api('GET', '/api/v1/admin/people?role=admin')]);
    for (const r of [t, p, a]) if (!r.ok) { failed(r); return; }
    const staff = p.data.people.concat(a.data.people);
    teams = t.data.teams;
    $('team-list').replaceChildren(...teams.map((team) => teamItem(team, staff)));
    fillTeamSelect($('cat-team'), '');
    fillTeamSelect($('hook-team'), $('hook-team').value);
  }

  function teamItem(team, staff) {
    const name = el('input', { value: team.name, maxlength: 128, 'aria-label': kbt('admin.name_zh'), 'data-testid': 'admin-team-rename-name' });
    const nameEn = el('input', { value: team.name_en || '', maxlength: 128, 'aria-label': kbt('admin.name_en') });
    const add = el('select', { 'aria-label': kbt('admin.member_add') },
      el('option', { value: '' }, kbt('admin.choose_person')),
      staff.filter((s) => !team.members.some((m) => m.id === s.id)).map((s) => el('option', { value: s.id }, s.name)));
    return el('li', { 'data-testid': 'admin-team', 'data-slug': team.slug },
      el('div', { class: 'row' }, el('code', null, team.slug), name, nameEn,
        el('button', {
          type: 'button', class: 'btn btn-sm',
          onclick: async () => {
            const r = await api('PATCH', `/api/v1/admin/teams/${encodeURIComponent(team.slug)}`, { name: name.value, name_en: nameEn.value });
            if (!r.ok) { failed(r); return; }
            say(kbt('admin.saved_team', [team.slug]));
            await loadTeams();
          },
        }, kbt('admin.rename'))),
      el('div', { class: 'row' }, el('span', { class: 'muted' }, kbt('admin.members')),
        team.members.map((m) => el('span', { class: 'badge' }, m.name, ' ',
          el('button', { type: 'button', class: 'btn-link', 'aria-label': kbt('admin.member_remove', [m.name]), onclick: () => member(team.slug, m.id, false) }, '×'))),
        add,
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => { if (add.value) member(team.slug, add.value, true); } }, kbt('admin.member_add'))));
  }

  async function member(slug, id, on) {
    const r = await api(on ? 'PUT' : 'DELETE', `/api/v1/admin/teams/${encodeURIComponent(slug)}/members/${id}`);
    if (!r.ok) { failed(r); return; }
    say(kbt('admin.saved_team', [slug]));
    await Promise.all([loadTeams(), loadPeople()]);
  }

  function fillTeamSelect(sel, value) {
    sel.replaceChildren(el('option', { value: '' }, kbt('admin.no_team')),
      ...teams.map((t) => el('option', { value: t.slug, selected: t.slug === value }, teamName(t))));
    return sel;
  }

  /* ---------- categories ---------- */

  async function loadCategories() {
    const r = await api('GET', '/api/v1/admin/categories');
    if (!r.ok) { failed(r); return; }
    $('cat-rows').replaceChildren(...r.data.categories.map((c) => {
      const name = el('input', { value: c.name, maxlength: 200, 'aria-label': kbt('ci.008') });
      const team = fillTeamSelect(el('select', { 'aria-label': kbt('admin.default_team') }), c.team || '');
      return el('tr', { 'data-testid': 'admin-category', 'data-name': c.name },
        el('td', null, name), el('td', null, team),
        el('td', null,
          el('button', {
            type: 'button', class: 'btn btn-sm',
            onclick: async () => {
              const x = await api('PATCH', `/api/v1/admin/categories/${c.id}`, { name: name.value.trim(), team: team.value || null });
              if (!x.ok) { failed(x); return; }
              say(kbt('admin.saved_category', [name.value.trim()]));
              await loadCategories();
            },
          }, kbt('pr.013')), ' ',
          el('button', {
            type: 'button', class: 'btn btn-sm',
            onclick: async () => {
              const x = await api('DELETE', `/api/v1/admin/categories/${c.id}`);
              if (!x.ok) { failed(x); return; }
              say(kbt('admin.deleted_category', [c.name]));
              await loadCategories();
            },
          }, kbt('admin.delete'))));
    }));
  }

  /* ---------- settings ---------- */

  async function loadSettings() {
    const r = await api('GET', '/api/v1/admin/settings');
    if (!r.ok) { failed(r); return false; }
    $('set-list').replaceChildren(...r.data.settings.map((s) => {
      const input = el('input', { type: 'number', min: s.min, max: s.max, value: s.value, 'data-testid': `admin-setting-${s.key}`, 'aria-label': kbt(`admin.set.${s.key}`) });
      const put = async (value) => {
        const x = await api('PATCH', '/api/v1/admin/settings', { [s.key]: value });
        if (!x.ok) { failed(x); return; }
        say(kbt('admin.saved_setting', [kbt(`admin.set.${s.key}`)]));
        await loadSettings();
      };
      return el('li', { class: 'row', 'data-testid': 'admin-setting', 'data-key': s.key },
        el('strong', null, kbt(`admin.set.${s.key}`)), el('code', null, s.key), input,
        el('span', { class: 'muted' }, kbt('admin.range', [s.min, s.max, s.file_value])),
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => put(Number(input.value)) }, kbt('pr.013')),
        el('button', { type: 'button', class: 'btn btn-sm', onclick: () => put(null) }, kbt('admin.reset')));
    }));
    return true;
  }

  /* ---------- group robots and webhooks (/api/v1/robots, /api/v1/webhooks) ---------- */

  const KIND_LABEL = (k) => kbt(`hooks.kind_${k}`);

  async function loadHooks() {
    const [ro, wh] = await Promise.all([api('GET', '/api/v1/robots'), api('GET', '/api/v1/webhooks')]);
    for (const r of [ro, wh]) if (!r.ok) { failed(r); return; }
    const rows = ro.data.items.map((h) => [h, false]).concat(wh.data.items.map((h) => [h, true]));
    $('hook-rows').replaceChildren(...rows.map(([h, webhook]) => {
      const d = h.deliveries;
      return el('tr', { 'data-testid': 'admin-hook', 'data-kind': h.kind, 'data-id': h.id },
        el('td', null, KIND_LABEL(h.kind)), el('td', null, h.name || ''), el('td', null, el('code', null, h.url)),
        el('td', null, webhook ? '' : h.team || kbt('hooks.all_tickets')), el('td', null, h.events.join(', ')),
        el('td', { title: h.last_error || '' }, `${d.queued} / ${d.sent} / ${d.failed}`,
          h.last_error ? el('span', { class: 'muted' }, ` ${h.last_error}`) : null),
        el('td', null, el('button', {
          type: 'button', class: 'btn btn-sm', 'data-testid': 'admin-hook-delete',
          onclick: async () => {
            const x = await api('DELETE', `/api/v1/${webhook ? 'webhooks' : 'robots'}/${h.id}`);
            if (!x.ok) { failed(x); return; }
            say(kbt('hooks.deleted', [h.name || h.url]));
            await loadHooks();
          },
        }, kbt('admin.delete'))));
    }));
  }

  function hookKindChanged() {
    const webhook = $('hook-kind').value === 'webhook';
    $('hook-name').disabled = webhook;
    $('hook-team').disabled = webhook;
  }

  /* ---------- start ---------- */

  async function start() {
    if (!token) { $('signin').hidden = false; return; }
    if (!(await loadSettings())) return;
    $('panes').hidden = false;
    await loadTeams();
    await Promise.all([loadPeople(), loadCategories(), loadHooks()]);
  }

  $('people-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadPeople(); });
  $('team-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/api/v1/admin/teams', { slug: $('team-slug').value.trim(), name: $('team-name').value.trim(), name_en: $('team-name-en').value.trim() });
    if (!r.ok) { failed(r); return; }
    say(kbt('admin.saved_team', [r.data.slug]));
    $('team-form').reset();
    await loadTeams();
  });
  $('cat-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/api/v1/admin/categories', { name: $('cat-name').value.trim(), team: $('cat-team').value || null });
    if (!r.ok) { failed(r); return; }
    say(kbt('admin.saved_category', [r.data.name]));
    $('cat-form').reset();
    await loadCategories();
  });
  $('hook-kind').addEventListener('change', hookKindChanged);
  $('hook-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const kind = $('hook-kind').value;
    const webhook = kind === 'webhook';
    const body = { url: $('hook-url').value.trim() };
    const secret = $('hook-secret').value;
    if (secret || webhook) body.secret = secret;
    const events = $('hook-events').value.split(',').map((e) => e.trim()).filter(Boolean);
    if (events.length) body.events = events;
    if (!webhook) Object.assign(body, { kind, name: $('hook-name').value.trim(), team: $('hook-team').value || null });
    const r = await api('POST', webhook ? '/api/v1/webhooks' : '/api/v1/robots', body);
    if (!r.ok) { failed(r); return; }
    say(kbt('hooks.added', [webhook ? body.url : body.name]));
    $('hook-form').reset();
    hookKindChanged();
    await loadHooks();
  });
  start().catch(() => say(kbt('aknow.002'), true));
})();
