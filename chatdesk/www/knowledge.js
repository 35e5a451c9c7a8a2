/* kbdesk knowledge workspace (knowledge.html): agents write, review,
 * publish and retire articles and known errors over chatdesk's JSON API
 * (/api/v1/knowledge, chatdesk/openapi.yaml), with the agent page's session
 * token (sessionStorage, the same key as agent.js) as the bearer token, or
 * a login of its own (POST /api/v1/sessions).
 *
 * - The list: GET /api/v1/knowledge (?state, ?due_for_review), filtered by
 *   kind and owner and paged here, 20 a page.
 * - The editor: the fields of a corpus file (shared/kb_md.c); the preview
 *   renders the Markdown with markdown-it (raw HTML off) and sanitises the
 *   result with DOMPurify (no script, no event handler, links and images
 *   only http(s), mailto or relative); it is inserted as a DOM fragment,
 *   never through innerHTML.
 * - Saving is PUT with If-Match: the version the editor started from. A 412
 *   (someone saved meanwhile) keeps everything typed, says who saved which
 *   version when, and offers a comparison, saving on top of the latest, or
 *   discarding. Unsaved edits are also kept in sessionStorage per item, so
 *   a reload loses nothing either.
 * - Versions, a word-level diff of any two (jsdiff), restore.
 * - Lifecycle buttons by state and role (GET /api/v1/me says whether the
 *   user may review); a refusal shows the API's own message.
 * - counters and feedback of an item, when the API sends them. */
'use strict';

(() => {
  const K = window.kbdesk;
  const { $, el, fill } = K;
  const SESSION_KEY = 'kbdesk.agent.session';     /* agent.js's key */
  const UNSAVED_KEY = 'kbdesk.kw.unsaved.';        /* + item id: {base, kind, doc} */
  const PAGE = 20;

  const STATE_LABEL = K.KB_STATE_LABEL;
  const KIND_LABEL = { article: kbt('kn.014'), known_error: kbt('common.002') };
  const NEW_LABEL = { article: kbt('kn.007'), known_error: kbt('kn.008') };
  const COUNTER_LABEL = {
    shown: kbt('kn2.008'), opened: kbt('kn2.009'), helpful: kbt('agent.081'), not_helpful: kbt('agent.082'),
    out_of_date: kbt('kn2.012'), linked: kbt('kn2.013'), self_solved: kbt('kn2.014'),
  };
  const VERDICT_LABEL = { helpful: kbt('agent.081'), not_helpful: kbt('agent.082'), out_of_date: kbt('kn2.012') };
  /* the document's fields: [key, label, section?] in the order of a file */
  const META_FIELDS = [['title', kbt('kn.025')], ['category', kbt('agent.123')], ['tags', kbt('kn2.017')], ['product', kbt('kn.027')],
    ['lang', kbt('kn.028')], ['visibility', kbt('kn.032')], ['service', kbt('kn2.021')], ['status', kbt('kn.035')]];
  const KE_SECTIONS = [['symptom', kbt('kn2.023')], ['cause', kbt('agent.119')], ['workaround', kbt('chat.053')], ['resolution', kbt('agent.120')]];
  const FORM_FIELDS = ['title', 'category', 'tags', 'product', 'lang', 'visibility', 'service', 'status',
    'symptom', 'cause', 'workaround', 'resolution', 'body'];
  const KE_ONLY = new Set(['service', 'status', 'symptom', 'cause', 'workaround', 'resolution']);

  let token = K.session.get(SESSION_KEY, null);
  let me = null;          /* {id, name, knowledge_reviewer} */
  let items = [];         /* the list after the filters */
  let page = 0;
  let cur = null;         /* {item, base, versions, kind, isNew, idem, latest} */

  /* ---------- Markdown, sanitised ---------- */

  /* Only http(s), mailto, or a relative address (no scheme at all). */
  function safeUrl(u) {
    const s = String(u || '').trim().replace(/[\u0000-\u001f\u007f\s]+/g, '');
    const m = /^([a-z][a-z0-9+.-]*):/i.exec(s);
    return !m || /^(https?|mailto)$/i.test(m[1]);
  }

  const md = window.markdownit({ html: false, linkify: true, typographer: false });
  md.validateLink = safeUrl;
  window.DOMPurify.addHook('uponSanitizeAttribute', (node, data) => {
    if (['href', 'src', 'xlink:href', 'action', 'formaction', 'srcset'].includes(data.attrName) && !safeUrl(data.attrValue)) {
      data.keepAttr = false;
    }
  });
  window.DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) node.setAttribute('rel', 'noopener noreferrer nofollow');
  });
  const PURIFY = {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
    ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  };

  /* A DOM fragment of the sanitised rendering of Markdown text. */
  function renderMd(text) {
    return window.DOMPurify.sanitize(md.render(String(text || '')), PURIFY);
  }

  /* ---------- the API ---------- */

  async function api(method, path, { json, headers } = {}) {
    const r = await K.apiCall(method, path, json, { token, headers: headers || {} });
    if (r.status === 0) return { status: 0, body: { error: { code: 'network', message: kbt('kn2.027') } } };
    if (r.status === 401 && path !== '/api/v1/sessions') {
      token = null;
      K.session.set(SESSION_KEY, null);
      showLogin(kbt('agent.022'));
    }
    return r;
  }

  const errOf = (r) => (r.body && r.body.error) || { code: `http_${r.status}`, message: `HTTP ${r.status}` };

  function showMsg(nodes, cls) {
    const box = $('i-msg');
    if (!nodes) { box.hidden = true; fill(box); return; }
    box.className = cls || 'error';
    fill(box, nodes);
    box.hidden = false;
  }
  const showError = (prefix, r) => showMsg(K.errorNodes(prefix, errOf(r)), 'error');

  /* ---------- login ---------- */

  function showLogin(why) {
    $('work').hidden = true;
    $('login').hidden = false;
    $('who').hidden = true;
    $('logout').hidden = true;
    const e = $('login-error');
    e.hidden = !why;
    e.textContent = why || '';
  }

  async function start() {
    if (!token) { showLogin(''); return; }
    const r = await api('GET', '/api/v1/me');
    if (r.status !== 200) {
      if (r.status !== 401) showLogin(K.errorText(errOf(r)));
      return;
    }
    if (r.body.role !== 'agent') { showLogin(kbt('kn2.029')); return; }
    me = r.body;
    $('login').hidden = true;
    $('work').hidden = false;
    $('who').hidden = false;
    $('who').textContent = `${me.name}${me.knowledge_reviewer ? kbt('kn2.030') : ''}`;
    $('logout').hidden = false;
    await loadList();
    openFromHash();
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const r = await api('POST', '/api/v1/sessions', { json: { username: $('username').value.trim(), password: $('password').value } });
    if (r.status !== 201) {
      $('login-error').hidden = false;
      $('login-error').textContent = K.errorText(errOf(r));
      return;
    }
    token = r.body.token;
    K.session.set(SESSION_KEY, token);
    $('password').value = '';
    start();
  });

  $('logout').addEventListener('click', async () => {
    await api('DELETE', '/api/v1/sessions/current');
    token = null;
    K.session.set(SESSION_KEY, null);
    showLogin('');
  });

  /* ---------- the list ---------- */

  function stateBadge(s, testid) {
    return el('span', { class: `badge kstate kstate-${s}`, 'data-testid': testid }, STATE_LABEL[s] || s);
  }
  const kindBadge = (k) => el('span', { class: `badge kind-${k}` }, KIND_LABEL[k] || k);

  async function loadList() {
    const q = new URLSearchParams();
    if ($('f-state').value) q.set('state', $('f-state').value);
    if ($('f-due').checked) q.set('due_for_review', '1');
    const r = await api('GET', `/api/v1/knowledge${q.toString() ? '?' + q : ''}`);
    const box = $('list-error');
    if (r.status !== 200) {
      box.hidden = false;
      fill(box, K.errorNodes(kbt('kn2.031'), errOf(r)));
      return;
    }
    box.hidden = true;
    const kind = $('f-kind').value;
    const mine = $('f-mine').checked;
    items = (r.body.items || []).filter((it) => (!kind || it.kind === kind) && (!mine || it.owner_id === me.id));
    /* newest change first */
    items.sort((a, b) => (b.updated_at || 0) - (a.updated_at || 0));
    const pages = Math.max(1, Math.ceil(items.length / PAGE));
    if (page >= pages) page = pages - 1;
    renderList();
  }

  function renderList() {
    const pages = Math.max(1, Math.ceil(items.length / PAGE));
    const shown = items.slice(page * PAGE, page * PAGE + PAGE);
    $('list-count').textContent = kbt('kn2.032', [items.length]);
    $('page').textContent = kbt('kn2.033', [page + 1, pages]);
    $('prev').disabled = page === 0;
    $('next').disabled = page >= pages - 1;
    const now = Date.now() / 1000;
    fill($('list'), shown.length ? shown.map((it) => el('li', {
      class: `kw-row${cur && cur.item && cur.item.id === it.id ? ' on' : ''}`, 'data-testid': 'kw-row', 'data-id': it.id,
    }, el('a', { href: `#${encodeURIComponent(it.id)}`, class: 'kw-row-link' },
      el('span', { class: 'card-head' }, kindBadge(it.kind), stateBadge(it.state, 'kw-row-state'),
        el('span', { class: 'card-id' }, it.id), el('span', { class: 'muted' }, `v${it.version}`)),
      el('span', { class: 'kw-row-title', 'data-testid': 'kw-row-title' }, it.title || kbt('kn2.034')),
      it.review_due ? el('span', { class: `kw-due${it.review_due < now ? ' late' : ''}` },
        kbt('kn2.035', [K.fmtTime(it.review_due), it.review_due < now ? kbt('kn2.036') : ''])) : null)))
      : el('li', { class: 'muted' }, kbt('kn2.037')));
  }

  for (const id of ['f-state', 'f-kind', 'f-mine', 'f-due']) $(id).addEventListener('change', () => { page = 0; loadList(); });
  $('prev').addEventListener('click', () => { if (page > 0) { page--; renderList(); } });
  $('next').addEventListener('click', () => { page++; renderList(); });

  /* ---------- the form ---------- */

  const field = (k) => $(`e-${k}`);

  function formDoc() {
    const doc = {};
    for (const k of FORM_FIELDS) {
      if (cur.kind !== 'known_error' && KE_ONLY.has(k)) continue;
      const v = field(k).value;
      if (k === 'title' || k === 'category' || k === 'tags' || k === 'product' || k === 'service') {
        if (v.trim()) doc[k] = v.trim();
      } else if (v.trim()) {
        doc[k] = v;
      }
    }
    return doc;
  }

  function setForm(doc) {
    for (const k of FORM_FIELDS) field(k).value = (doc && doc[k]) || (k === 'visibility' ? 'internal' : '');
    if (doc && doc.visibility) field('visibility').value = doc.visibility;
    renderPreview();
  }

  function renderPreview() {
    const out = [];
    if (!cur) return;
    const d = formDoc();
    out.push(el('h1', { class: 'kw-pv-title' }, d.title || kbt('kn2.034')));
    if (cur.kind === 'known_error') {
      for (const [k, label] of KE_SECTIONS) {
        if (!d[k]) continue;
        out.push(el('h2', null, label), renderMd(d[k]));
      }
    }
    if (d.body) out.push(renderMd(d.body));
    fill($('preview'), out);
  }

  function keepUnsaved() {
    if (!cur || !cur.item) return;
    K.session.set(UNSAVED_KEY + cur.item.id, { base: cur.base, doc: formDoc() });
    $('save-state').textContent = kbt('kn2.038');
  }

  $('editor').addEventListener('input', () => { renderPreview(); keepUnsaved(); });
  $('editor').addEventListener('change', () => { renderPreview(); keepUnsaved(); });

  /* ---------- one item ---------- */

  function editable(state) { return state === 'draft' || state === 'published' || state === 'retired'; }

  function ownerText(item) {
    if (me && item.owner_id === me.id) return kbt('kn2.039', [me.name]);
    const v = (cur.versions || []).find((x) => x.author_id === item.owner_id);
    return v ? v.author_name : `#${item.owner_id}`;
  }

  function renderItem() {
    const item = cur.item;
    $('i-placeholder').hidden = true;
    $('i-content').hidden = false;
    $('i-id').textContent = item ? item.id : NEW_LABEL[cur.kind];
    fill($('i-badges'), kindBadge(cur.kind), item ? stateBadge(item.state, 'kw-state') : stateBadge('draft', 'kw-state'),
      item ? el('span', { class: 'muted', 'data-testid': 'kw-version' }, kbt('kn2.042', [item.version])) : null);
    const now = Date.now() / 1000;
    fill($('i-meta'), item ? [
      el('span', null, kbt('kn2.043'), el('strong', { 'data-testid': 'kw-owner' }, ownerText(item))),
      el('span', null, kbt('kn2.044'), el('strong', { 'data-testid': 'kw-review-due', class: item.review_due && item.review_due < now ? 'late' : '' },
        item.review_due ? `${K.fmtTime(item.review_due)}${item.review_due < now ? kbt('kn2.036') : ''}` : '—')),
      el('span', null, kbt('kn2.045'), el('strong', null, item.published_version ? kbt('kn2.042', [item.published_version]) : kbt('kn2.046'))),
      item.source_ticket ? el('span', null, kbt('kn2.047'), el('strong', { 'data-testid': 'kw-source-ticket' }, item.source_ticket)) : null,
      el('span', null, kbt('kn2.048'), el('strong', null, K.fmtTime(item.updated_at))),
    ] : el('span', { class: 'muted' }, kbt('kn2.049')));

    const st = item ? item.state : 'draft';
    const reviewer = !!(me && me.knowledge_reviewer);
    const owner = item && me && item.owner_id === me.id;
    const show = (id, on) => { $(id).hidden = !on; $(id).disabled = false; };
    show('a-submit', item && st === 'draft');
    show('a-approve', item && reviewer && st === 'in_review');
    show('a-return', item && reviewer && (st === 'in_review' || st === 'approved'));
    show('a-publish', item && st === 'approved');
    show('a-retire', item && st !== 'retired' && (reviewer || owner));
    $('a-comment').hidden = !item || !(['a-submit', 'a-approve', 'a-return', 'a-retire'].some((id) => !$(id).hidden));
    $('actions').hidden = !item;

    const canEdit = !item || editable(st);
    for (const k of FORM_FIELDS) field(k).disabled = !canEdit;
    $('save').disabled = !canEdit;
    $('e-readonly').hidden = canEdit;
    $('e-readonly').textContent = canEdit ? '' : kbt('kn2.050', [STATE_LABEL[st]]);
    for (const n of document.querySelectorAll('.ke-only')) n.hidden = cur.kind !== 'known_error';
    $('e-body-label').textContent = cur.kind === 'known_error' ? kbt('kn2.051') : kbt('kn.037');
    renderUsage(item);
    $('versions-box').hidden = !item;
    if (item) renderVersions();
  }

  function renderUsage(item) {
    const counters = item && item.counters && typeof item.counters === 'object' ? item.counters : null;
    const feedback = item && Array.isArray(item.feedback) ? item.feedback : null;
    $('usage').hidden = !counters && !feedback;
    fill($('counters'), counters ? Object.keys(COUNTER_LABEL).filter((k) => k in counters).map((k) => [
      el('dt', null, COUNTER_LABEL[k]), el('dd', { 'data-testid': `kw-counter-${k}` }, String(counters[k])),
    ]) : null);
    fill($('feedback'), feedback ? (feedback.length ? feedback.map((f) => el('li', { 'data-testid': 'kw-feedback-item' },
      el('strong', null, VERDICT_LABEL[f.verdict] || String(f.verdict || '')), ' ',
      f.by ? el('span', { class: 'muted' }, String(f.by), ' ') : null,
      f.at ? el('span', { class: 'muted' }, K.fmtTime(f.at)) : null,
      f.comment ? el('p', { class: 'kw-fb-comment' }, String(f.comment)) : null))
      : el('li', { class: 'muted' }, kbt('kn2.053'))) : null);
  }

  async function loadVersions() {
    if (!cur || !cur.item) return;
    const r = await api('GET', `/api/v1/knowledge/${encodeURIComponent(cur.item.id)}/versions`);
    if (r.status === 200) cur.versions = r.body.versions || [];
  }

  function renderVersions() {
    const vs = cur.versions || [];
    const n = vs.length;
    const canRestore = cur.item && editable(cur.item.state);
    fill($('versions'), vs.slice().reverse().map((v) => el('tr', { 'data-testid': 'kw-version-row', 'data-version': v.version },
      el('td', null, `${v.version}`, v.restored_from ? el('span', { class: 'muted' }, kbt('kn2.054', [v.restored_from])) : null),
      el('td', null, v.author_name || `#${v.author_id}`),
      el('td', null, K.fmtTime(v.at)),
      el('td', { class: 'kw-vtitle' }, v.title || ''),
      el('td', null, el('input', { type: 'radio', name: 'vfrom', value: v.version, 'aria-label': kbt('kn2.055', [v.version]), checked: v.version === Math.max(1, n - 1), 'data-testid': 'kw-vfrom' })),
      el('td', null, el('input', { type: 'radio', name: 'vto', value: v.version, 'aria-label': kbt('kn2.056', [v.version]), checked: v.version === n, 'data-testid': 'kw-vto' })),
      el('td', null, v.version !== cur.item.version && canRestore
        ? el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'kw-restore', onclick: () => restore(v.version) }, kbt('kn2.057')) : null))));
    $('diff-button').disabled = n < 2;
  }

  async function openItem(id) {
    const r = await api('GET', `/api/v1/knowledge/${encodeURIComponent(id)}`);
    if (r.status !== 200) {
      cur = cur || null;
      $('i-placeholder').hidden = false;
      $('i-content').hidden = true;
      $('i-placeholder').replaceChildren(...K.errorNodes(kbt('kn2.058', [id]), errOf(r)));
      return;
    }
    cur = { item: r.body, base: r.body.version, kind: r.body.kind, versions: [] };
    await loadVersions();
    setForm(r.body.document);
    $('conflict').hidden = true;
    $('diff').hidden = true;
    showMsg(null);
    $('save-state').textContent = '';
    const kept = K.session.get(UNSAVED_KEY + id, null);
    if (kept && kept.doc) {
      setForm(kept.doc);
      cur.base = kept.base;
      $('save-state').textContent = kbt('kn2.059');
      if (kept.base !== r.body.version) cur.base = kept.base;   /* a save will meet the conflict check */
    }
    renderItem();
    renderList();
  }

  function openNew(kind) {
    cur = { item: null, base: 0, kind, versions: [], isNew: true, idem: K.clientId() };
    history.replaceState(null, '', location.pathname);
    setForm({ visibility: 'internal' });
    $('conflict').hidden = true;
    $('diff').hidden = true;
    showMsg(null);
    $('save-state').textContent = '';
    renderItem();
    field('title').focus();
  }

  function openFromHash() {
    const id = decodeURIComponent(location.hash.replace(/^#/, ''));
    if (id && (!cur || !cur.item || cur.item.id !== id)) openItem(id);
  }
  window.addEventListener('hashchange', openFromHash);
  $('new-article').addEventListener('click', () => openNew('article'));
  $('new-ke').addEventListener('click', () => openNew('known_error'));

  /* ---------- saving, conflicts ---------- */

  async function save() {
    const doc = formDoc();
    if (!doc.title) { showMsg(kbt('kn2.060'), 'error'); field('title').focus(); return; }
    $('save').disabled = true;
    $('save-state').textContent = kbt('tickets.030');
    let r;
    if (!cur.item) {
      r = await api('POST', '/api/v1/knowledge', { json: { kind: cur.kind, ...doc }, headers: { 'idempotency-key': cur.idem } });
    } else {
      r = await api('PUT', `/api/v1/knowledge/${encodeURIComponent(cur.item.id)}`, { json: doc, headers: { 'if-match': `"${cur.base}"` } });
    }
    $('save').disabled = false;
    if (r.status === 200 || r.status === 201) {
      if (cur.item) K.session.set(UNSAVED_KEY + cur.item.id, null);
      cur.item = r.body;
      cur.base = r.body.version;
      cur.isNew = false;
      $('conflict').hidden = true;
      showMsg(null);
      await loadVersions();
      renderItem();
      $('save-state').textContent = kbt('kn2.062', [r.body.version]);
      if (location.hash !== `#${r.body.id}`) history.replaceState(null, '', `#${encodeURIComponent(r.body.id)}`);
      loadList();
      return;
    }
    $('save-state').textContent = kbt('kn2.063');
    if (r.status === 412 || r.status === 409) { await conflict(r); return; }
    showError(kbt('kn2.064'), r);
  }

  /* Someone saved meanwhile: the form keeps what was typed; say who saved
   * which version when. */
  async function conflict(r) {
    const id = cur.item.id;
    const [lr] = await Promise.all([api('GET', `/api/v1/knowledge/${encodeURIComponent(id)}`), loadVersions()]);
    cur.latest = lr.status === 200 ? lr.body : null;
    const last = (cur.versions || [])[cur.versions.length - 1];
    const text = last && cur.latest
      ? kbt('kn2.066', [last.author_name || kbt('kn2.065'), K.fmtTime(last.at), last.version, cur.base])
      : kbt('kn2.067', [errOf(r).message]);
    $('conflict-text').textContent = text;
    $('conflict').hidden = false;
    renderVersions();
    keepUnsaved();
  }

  $('editor').addEventListener('submit', (ev) => { ev.preventDefault(); save(); });

  $('conflict-compare').addEventListener('click', () => {
    if (!cur.latest) return;
    showDiff(kbt('kn2.068', [cur.latest.version]), docText(cur.kind, cur.latest.document), kbt('kn2.069'), docText(cur.kind, formDoc()));
  });
  $('conflict-rebase').addEventListener('click', () => {
    if (!cur.latest) return;
    cur.base = cur.latest.version;
    cur.item = cur.latest;
    $('conflict').hidden = true;
    save();
  });
  $('conflict-reload').addEventListener('click', () => {
    if (!cur.item) return;
    K.session.set(UNSAVED_KEY + cur.item.id, null);
    openItem(cur.item.id);
  });

  async function restore(version) {
    const r = await api('POST', `/api/v1/knowledge/${encodeURIComponent(cur.item.id)}/versions/${version}/restore`,
      { headers: { 'if-match': `"${cur.base}"` } });
    if (r.status === 200) {
      K.session.set(UNSAVED_KEY + cur.item.id, null);
      await openItem(cur.item.id);
      showMsg(kbt('kn2.070', [version, r.body.version]), 'ok');
      loadList();
    } else if (r.status === 412) {
      await conflict(r);
    } else {
      showError(kbt('kn2.071'), r);
    }
  }

  /* ---------- lifecycle ---------- */

  const STEP_DONE = {
    submit: kbt('kn2.072'), approve: kbt('kn.011'), return: kbt('kn2.074'), publish: kbt('kn.012'), retire: kbt('kn.013'),
  };

  async function step(name) {
    const comment = $('a-comment').value.trim();
    if (name === 'return' && !comment) {
      showMsg(kbt('kn2.077'), 'error');
      $('a-comment').focus();
      return;
    }
    const btn = $(`a-${name}`);
    btn.disabled = true;
    const body = comment && name !== 'publish' ? { comment } : {};
    const r = await api('POST', `/api/v1/knowledge/${encodeURIComponent(cur.item.id)}/${name}`, { json: body });
    btn.disabled = false;
    if (r.status === 200) {
      cur.item = r.body;
      cur.base = r.body.version;
      $('a-comment').value = '';
      await loadVersions();
      renderItem();
      showMsg(kbt('kn2.078', [STEP_DONE[name], STATE_LABEL[r.body.state]]), 'ok');
      loadList();
    } else {
      showError(kbt('kn2.079', [btn.textContent]), r);
    }
  }
  for (const name of ['submit', 'approve', 'return', 'publish', 'retire']) $(`a-${name}`).addEventListener('click', () => step(name));

  /* ---------- diff ---------- */

  /* A document as text: one line per field, then its sections. */
  function docText(kind, doc) {
    const d = doc || {};
    const lines = [];
    for (const [k, label] of META_FIELDS) if (d[k]) lines.push(`${label}: ${d[k]}`);
    if (kind === 'known_error') for (const [k, label] of KE_SECTIONS) if (d[k]) lines.push('', `## ${label}`, d[k]);
    if (d.body) lines.push('', `## ${kind === 'known_error' ? kbt('kn2.080') : kbt('kn2.081')}`, d.body);
    return lines.join('\n') + '\n';
  }

  const segmenter = typeof Intl !== 'undefined' && Intl.Segmenter ? new Intl.Segmenter('zh', { granularity: 'word' }) : null;

  /* Nodes of a line diff of a and b; a removed block followed by an added
   * one is compared word by word. */
  function diffNodes(a, b) {
    const parts = window.Diff.diffLines(a, b);
    const out = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (p.removed && parts[i + 1] && parts[i + 1].added) {
        const words = window.Diff.diffWords(p.value, parts[i + 1].value, segmenter ? { intlSegmenter: segmenter } : undefined);
        out.push(el('div', { class: 'kw-dchg' }, words.map((w) => (w.added ? el('ins', null, w.value)
          : w.removed ? el('del', null, w.value) : w.value))));
        i++;
      } else if (p.added) {
        out.push(el('div', { class: 'kw-dadd' }, el('ins', null, p.value)));
      } else if (p.removed) {
        out.push(el('div', { class: 'kw-ddel' }, el('del', null, p.value)));
      } else {
        out.push(el('div', { class: 'kw-dsame' }, p.value));
      }
    }
    return out;
  }

  function showDiff(aLabel, a, bLabel, b) {
    const box = $('diff');
    box.hidden = false;
    fill(box, el('p', { class: 'kw-dlegend', 'data-testid': 'kw-diff-legend' }, el('del', null, aLabel), ' → ', el('ins', null, bLabel)),
      a === b ? el('p', { class: 'muted' }, kbt('kn2.082')) : el('div', { class: 'kw-dtext', 'data-testid': 'kw-diff-text' }, diffNodes(a, b)));
  }

  $('diff-button').addEventListener('click', async () => {
    const from = Number((document.querySelector('input[name=vfrom]:checked') || {}).value);
    const to = Number((document.querySelector('input[name=vto]:checked') || {}).value);
    if (!from || !to) return;
    const id = encodeURIComponent(cur.item.id);
    const [ra, rb] = await Promise.all([api('GET', `/api/v1/knowledge/${id}?version=${from}`), api('GET', `/api/v1/knowledge/${id}?version=${to}`)]);
    if (ra.status !== 200 || rb.status !== 200) { showError(kbt('kn2.083'), ra.status !== 200 ? ra : rb); return; }
    showDiff(kbt('kn2.042', [from]), docText(cur.kind, ra.body.document), kbt('kn2.042', [to]), docText(cur.kind, rb.body.document));
  });

  window.addEventListener('beforeunload', (ev) => {
    if (cur && cur.isNew && formDoc().title) { ev.preventDefault(); ev.returnValue = ''; }
  });

  start();
})();
