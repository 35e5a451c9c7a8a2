/* The configuration-item page (cis.html): items over the JSON API
 * (/api/v1/cis) with the agent's session token from sessionStorage. A
 * list with a name search and type filter, a new-item form, and an item's
 * view: its relations both ways (add), what refers to it with open tickets
 * first (add), and retiring it. Text from the server is set as text. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const TYPES = { service: kbt('kn2.021'), application: kbt('ci2.002'), system: kbt('agent.073'), server: kbt('ci2.004'),
    network: kbt('ci2.005'), device: kbt('ci2.006'), database: kbt('ci2.007'), other: kbt('ci2.008') };
  const REL = { runs_on: kbt('ci.010'), depends_on: kbt('ci.011'), part_of: kbt('ci.012'), connects_to: kbt('ci.013') };
  /* a reference's page and its status's words, by kind */
  const REF = {
    ticket: { href: (n) => `agent.html#ticket=${encodeURIComponent(n)}`, label: K.TICKET_STATUS_LABEL },
    problem: { href: (n) => `problems.html#${encodeURIComponent(n)}`, label: K.PROBLEM_STATUS_LABEL },
    knowledge: { href: (n) => `knowledge.html#${encodeURIComponent(n)}`, label: K.KB_STATE_LABEL },
  };
  const token = K.session.get('kbdesk.agent.session', null);
  let current = null;

  const api = (method, path, json) => K.api(method, path, json || null, { token });
  const say = (t) => { $('c-msg').textContent = t; };

  for (const [k, v] of Object.entries(TYPES)) {
    $('type-filter').append(el('option', { value: k }, v));
    $('new-type').append(el('option', { value: k }, v));
  }

  async function load() {
    const q = new URLSearchParams({ limit: '200' });
    if ($('q').value.trim()) q.set('q', $('q').value.trim());
    if ($('type-filter').value) q.set('type', $('type-filter').value);
    try {
      const r = await api('GET', `/api/v1/cis?${q}`);
      $('list').replaceChildren(...r.items.map((c) => el('li', { class: 'qi', 'data-testid': 'ci-item', 'data-code': c.code },
        el('button', { type: 'button', class: 'btn-link qi-no', onclick: () => open(c.code) }, c.code),
        ' ', el('span', null, c.name), ' ', el('span', { class: 'badge' }, TYPES[c.type] || c.type),
        c.open_tickets ? el('span', { class: 'muted' }, ` ${kbt('ci2.013', [c.open_tickets])}`) : null)));
    } catch (e) { $('page-error').textContent = e.message; $('page-error').hidden = false; }
  }

  function fill(c) {
    current = c;
    $('detail').hidden = false;
    $('c-title').textContent = `${c.code} ${c.name}`;
    $('c-meta').textContent = `${TYPES[c.type] || c.type} · ${c.owner ? kbt('ci2.014', [c.owner.name]) : ''} ${c.owner_team ? kbt('tickets.026', [c.owner_team]) : ''}${c.retired ? ` · ${kbt('kn.013')}` : ''}`;
    $('rels').replaceChildren(...c.relations.map((r) => el('li', { 'data-testid': 'ci-relation' },
      r.direction === 'out' ? `${REL[r.type] || r.type} → ` : `← ${REL[r.type] || r.type} `,
      el('button', { type: 'button', class: 'btn-link', onclick: () => open(r.code) }, r.code), ` ${r.name}`)));
    $('refs').replaceChildren(...c.refs.map((r) => {
      const ref = REF[r.kind] || REF.ticket;
      return el('li', { 'data-testid': 'ci-ref', 'data-open': String(r.open), 'data-kind': r.kind },
        el('a', { class: 'ticket-no', href: ref.href(r.ref) }, r.ref), ' ', r.title || '',
        r.status ? el('span', { class: 'muted', 'data-testid': 'ci-ref-status' }, ` ${ref.label[r.status] || r.status}`) : null);
    }));
    $('retire').hidden = c.retired;
  }

  async function open(code) {
    try { fill(await api('GET', `/api/v1/cis/${encodeURIComponent(code)}`)); say(''); history.replaceState(null, '', `#${code}`); }
    catch (e) { say(e.message); }
  }
  const reopen = () => open(current.code);

  $('find').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  $('new-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const c = await api('POST', '/api/v1/cis', { type: $('new-type').value, name: $('new-name').value.trim() });
      $('new-name').value = '';
      await load();
      await open(c.code);
    } catch (e) { $('page-error').textContent = e.message; $('page-error').hidden = false; }
  });
  $('rel-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', `/api/v1/cis/${current.code}/relations`, { type: $('rel-type').value, to: $('rel-to').value.trim().toUpperCase() }); await reopen(); }
    catch (e) { say(kbt('ci2.017', [e.message])); }
  });
  $('ref-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', `/api/v1/cis/${current.code}/refs`, { kind: $('ref-kind').value, ref: $('ref-id').value.trim() }); await reopen(); }
    catch (e) { say(kbt('ci2.018', [e.message])); }
  });
  $('retire').addEventListener('click', async () => {
    try { await api('POST', `/api/v1/cis/${current.code}/retire`); await reopen(); await load(); }
    catch (e) { say(kbt('ci2.019', [e.message])); }
  });

  if (!token) { $('signin').hidden = false; return; }
  load().then(() => { const c = decodeURIComponent(location.hash.slice(1)); if (/^CI-\d+$/.test(c)) open(c); });
})();
