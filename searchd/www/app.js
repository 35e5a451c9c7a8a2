/* kbdesk search page: the search itself, talking to searchd's JSON API
 * (/search, /suggest, /standards; api.js) and keeping its state in the URL
 * (?q=&kind=&category=&standard=&offset=&doc=): the URL state and history,
 * the results with their snippets, the filters by kind, category and
 * standard with counts, paging, completions as you type, the welcome panel
 * and the agent token. The document view is docview.js (K.doc); the DOM,
 * snippet and Markdown helpers are render.js; every label comes from
 * i18n.js (kbt). Loaded last: it reads the URL and starts the page.
 *
 * Safety rule: every string that comes from the index is inserted as text
 * (textContent / text nodes); a snippet's <mark> is rebuilt node by node
 * (K.snippetNodes); nothing is ever assigned to innerHTML. */
'use strict';

(() => {
  const K = window.kbsearch;
  const { $, el, plainClick, snippetNodes, emphasise, firstLine, api, errorNodes, getToken, setToken, qs } = K;
  const PAGE_SIZE = 10;
  const SUGGEST_DELAY_MS = 150;
  const KINDS = ['article', 'known_error', 'standard'];
  const kindLabel = (k) => kbt('sp.kind.' + k);
  const kindShort = (k) => (KINDS.includes(k) ? kbt('sp.kind_short.' + k) : kbt('sp.kind_short.doc'));
  const statusLabel = (s) => (['open', 'workaround', 'resolved'].includes(s) ? kbt('sp.status.' + s) : s);
  /* queries into the corpus, in its language */
  const EXAMPLES = ['VPN 错误 809', 'ORA-12154', '打印机 0x0000011b', '账号锁定', '服务级别协议', '事件管理', '服务台'];

  const ui = {
    form: $('search-form'), input: $('q'), list: $('suggest-list'),
    results: $('results'), filters: $('filters'), status: $('status'), notice: $('notice'),
    error: $('error'), hits: $('hits'), pager: $('pager'), prev: $('prev-page'), next: $('next-page'),
    pageInfo: $('page-info'), welcome: $('welcome'), examples: $('examples'), stdList: $('std-list'),
    kindBtns: Array.from(document.querySelectorAll('.kind-btn')),
    category: $('category'), categoryField: $('category-field'),
    standard: $('standard'), standardField: $('standard-field'), clear: $('clear-filters'),
    tokenToggle: $('token-toggle'), tokenPanel: $('token-panel'), tokenInput: $('token-input'),
    tokenClear: $('token-clear'),
  };

  /* ---------- URL state ---------- */

  let state = { q: '', kind: '', category: '', standard: '', offset: 0, doc: '' };

  function readUrl() {
    const p = new URLSearchParams(location.search);
    const kind = p.get('kind') || '';
    const offset = parseInt(p.get('offset') || '0', 10);
    return {
      q: p.get('q') || '',
      kind: KINDS.includes(kind) ? kind : '',
      category: p.get('category') || '',
      standard: p.get('standard') || '',
      offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
      doc: p.get('doc') || '',
    };
  }

  function urlFor(s) {
    const q = qs({ q: s.q, kind: s.kind, category: s.category, standard: s.standard, offset: s.offset || '', doc: s.doc });
    return location.pathname + (q ? '?' + q : '');
  }

  const searchKey = (s) => JSON.stringify([s.q, s.kind, s.category, s.standard, s.offset]);

  /* Changes the state, records it in history (push unless replace) and
   * updates what changed. opts.force re-runs the search even if unchanged;
   * opts.focus: 'doc' or 'results' moves focus when rendering is done. */
  function navigate(next, opts = {}) {
    const prev = state;
    state = { ...state, ...next };
    const url = urlFor(state);
    if (url !== location.pathname + location.search) {
      history[opts.replace ? 'replaceState' : 'pushState'](null, '', url);
    }
    update(prev, opts);
  }

  function update(prev, opts = {}) {
    if (ui.input.value !== state.q && document.activeElement !== ui.input) ui.input.value = state.q;
    if (!prev || opts.force || searchKey(prev) !== searchKey(state)) runSearch(opts.focus === 'results');
    if (!prev || opts.forceDoc || prev.doc !== state.doc) K.doc.load(opts.focus === 'doc');
    else if (opts.focus === 'doc') K.doc.focus();
    updateTitle();
  }

  function updateTitle() {
    const parts = [];
    const cur = K.doc.current();
    if (state.doc && cur && cur.id === state.doc) parts.push(cur.title);
    if (state.q) parts.push(kbt('sp.title.results', [state.q]));
    parts.push(kbt('sp.title.page'));
    document.title = parts.join(' · ');
  }

  window.addEventListener('popstate', () => {
    const prev = state;
    state = readUrl();
    ui.input.value = state.q;
    closeSuggest();
    update(prev);
  });

  /* ---------- standards list (names for the filter) ---------- */

  const standards = new Map(); // slug -> {code, title, clauses}
  let stdListFailed = false;
  const stdName = (slug) => {
    const s = standards.get(slug);
    if (!s) return slug;
    return [s.code, s.title].filter(Boolean).join(' ');
  };

  async function loadStandards() {
    try {
      const list = await api('/standards');
      if (!Array.isArray(list)) return;
      for (const s of list) if (s && s.std) standards.set(s.std, s);
      renderWelcome();
      if (lastFacets) renderFacets(lastFacets);
    } catch {
      stdListFailed = true; /* names fall back to slugs */
      renderWelcome();
    }
  }

  /* ---------- search ---------- */

  let searchSeq = 0;
  let searchCtl = null;
  let lastFacets = null;
  const categoryLabel = new Map(); // lower-cased path -> path as written in documents

  function clearResults() {
    ui.hits.replaceChildren();
    ui.pager.hidden = true;
    ui.notice.hidden = true;
    ui.notice.replaceChildren();
    ui.error.hidden = true;
    ui.error.replaceChildren();
  }

  async function runSearch(focusResults) {
    const s = state;
    const seq = ++searchSeq;
    if (searchCtl) searchCtl.abort();
    searchCtl = new AbortController();
    const signal = searchCtl.signal;
    syncFilterButtons();

    if (!s.q.trim()) {
      clearResults();
      ui.status.textContent = '';
      ui.results.removeAttribute('aria-busy');
      ui.results.classList.remove('loading');
      ui.welcome.hidden = false;
      ui.filters.hidden = !(s.kind || s.category || s.standard);
      lastFacets = null;
      renderFacets(null);
      return;
    }
    ui.welcome.hidden = true;
    ui.filters.hidden = false;
    ui.results.setAttribute('aria-busy', 'true');
    ui.results.classList.add('loading');

    const base = { q: s.q, kind: s.kind, category: s.category, standard: s.standard };
    const main = api('/search?' + qs({ ...base, offset: s.offset || '', limit: PAGE_SIZE }), signal);
    /* Counts for a field whose filter is set come from the same search
     * without that filter, so the other choices keep their counts. */
    const others = ['kind', 'category', 'standard'].filter((f) => s[f]).map((f) =>
      api('/search?' + qs({ ...base, [f]: '', limit: 1 }), signal)
        .then((r) => [f, r && r.facets ? r.facets[f] : null])
        .catch(() => [f, null]));
    try {
      const [res, ...extra] = await Promise.all([main, ...others]);
      if (seq !== searchSeq) return;
      const facets = { ...((res && res.facets) || {}) };
      for (const [f, v] of extra) if (v) facets[f] = v;
      renderResults(res, facets);
      if (focusResults) {
        ui.results.scrollIntoView({ block: 'start' });
        ui.results.focus({ preventScroll: true });
      }
    } catch (e) {
      if (e.name === 'AbortError' || seq !== searchSeq) return;
      clearResults();
      ui.status.textContent = '';
      lastFacets = null;
      renderFacets(null);
      ui.error.replaceChildren(...errorNodes(kbt('sp.search_failed'), e));
      ui.error.hidden = false;
    } finally {
      if (seq === searchSeq) {
        ui.results.removeAttribute('aria-busy');
        ui.results.classList.remove('loading');
      }
    }
  }

  function shorten(text, max) {
    const chars = Array.from(String(text));
    return chars.length > max ? chars.slice(0, max - 1).join('') + '…' : chars.join('');
  }

  function fmtMs(ms) {
    const n = Number(ms);
    if (!Number.isFinite(n)) return '';
    return n < 10 ? n.toFixed(1) : String(Math.round(n));
  }

  function renderResults(res, facets) {
    clearResults();
    const hits = Array.isArray(res.hits) ? res.hits : [];
    const total = Number(res.total) || 0;
    const offset = Number(res.offset) || state.offset || 0;
    const limit = Number(res.limit) || PAGE_SIZE;
    const shownQuery = res.corrected || state.q;

    for (const h of hits) {
      if (h.category) {
        const parts = String(h.category).split('/');
        for (let i = 1; i <= parts.length; i++) {
          const p = parts.slice(0, i).join('/');
          categoryLabel.set(p.toLowerCase(), p);
        }
      }
    }

    const quoted = kbt('sp.quoted', [shorten(shownQuery, 40)]);
    if (total === 0 || (!hits.length && offset === 0)) {
      ui.status.textContent = kbt('sp.status_none', [quoted]);
    } else if (!hits.length) {
      ui.status.textContent = kbt('sp.status_empty_page', [quoted, total]);
    } else {
      ui.status.textContent = kbt('sp.status_hits', [quoted, total, offset + 1, offset + hits.length, fmtMs(res.took_ms)]);
    }

    if (res.corrected) {
      ui.notice.append(kbt('sp.corrected_before', [state.q]),
        el('strong', { 'data-testid': 'corrected' }, res.corrected), kbt('sp.corrected_after'));
      ui.notice.hidden = false;
    } else if (res.suggestion && res.suggestion !== state.q) {
      const sugg = res.suggestion;
      ui.notice.append(kbt('sp.did_you_mean'), el('a', {
        href: urlFor({ ...state, q: sugg, offset: 0, doc: '' }),
        'data-testid': 'suggestion-link',
        onclick: (ev) => {
          if (!plainClick(ev)) return;
          ev.preventDefault();
          ui.input.value = sugg;
          navigate({ q: sugg, offset: 0, doc: '' });
        },
      }, sugg));
      ui.notice.hidden = false;
    }

    for (const h of hits) ui.hits.append(hitNode(h));
    if (!hits.length && total > 0 && offset > 0) {
      ui.hits.append(el('li', { class: 'empty' }, el('button', {
        type: 'button', class: 'btn', onclick: () => navigate({ offset: 0 }, { focus: 'results' }),
      }, kbt('sp.first_page'))));
    } else if (!hits.length) {
      const tips = [kbt('sp.tip.spelling'), kbt('sp.tip.codes')];
      if (state.kind || state.category || state.standard) tips.unshift(kbt('sp.tip.filters'));
      ui.hits.append(el('li', { class: 'empty' }, el('ul', null, tips.map((t) => el('li', null, t)))));
    }

    const pages = Math.max(1, Math.ceil(total / limit));
    const page = Math.floor(offset / limit) + 1;
    ui.pager.hidden = total <= limit && offset === 0;
    ui.prev.disabled = offset <= 0;
    ui.next.disabled = offset + limit >= total;
    ui.pageInfo.textContent = kbt('sp.page_info', [page, pages]);

    lastFacets = facets;
    renderFacets(facets);
    markCurrentHit();
  }

  function hitNode(h) {
    const kind = KINDS.includes(h.kind) ? h.kind : 'article';
    const href = urlFor({ ...state, doc: h.id });
    const title = el('a', {
      class: 'hit-title', href, 'data-testid': 'result-link', 'data-doc': h.id,
    }, h.title || h.id);
    const badges = [el('span', { class: `badge kind-${kind}`, 'data-testid': 'kind-badge' }, kindLabel(kind))];
    if (h.visibility === 'internal') badges.push(el('span', { class: 'badge internal' }, kbt('sp.internal')));

    const meta = [];
    if (kind === 'standard') {
      if (h.standard || h.std) meta.push(el('span', { class: 'meta-std' }, h.standard || stdName(h.std)));
      if (h.path) meta.push(el('span', { class: 'meta-path' }, String(h.path).split(' > ').join(' › ')));
    } else if (kind === 'known_error') {
      if (h.service) meta.push(el('span', null, h.service));
      if (h.updated) meta.push(el('span', { class: 'meta-updated' }, kbt('sp.updated', [h.updated])));
    } else {
      if (h.category) meta.push(el('span', null, String(h.category).split('/').join(' / ')));
      if (h.updated) meta.push(el('span', { class: 'meta-updated' }, kbt('sp.updated', [h.updated])));
    }

    const li = el('li', { class: 'hit', 'data-testid': 'result-item', 'data-kind': kind, 'data-id': h.id },
      el('div', { class: 'hit-head' }, badges, title),
      meta.length ? el('div', { class: 'hit-meta' }, meta) : null,
      h.snippet ? el('p', { class: 'snippet', 'data-testid': 'snippet' }, snippetNodes(h.snippet)) : null);

    if (kind === 'known_error') {
      const row = el('p', { class: 'hit-ke' });
      if (h.status) row.append(el('span', { class: `badge status-${h.status}`, 'data-testid': 'ke-status' }, statusLabel(h.status)));
      const wa = firstLine(h.workaround);
      if (wa) row.append(el('span', { class: 'wa', 'data-testid': 'ke-workaround' }, el('span', { class: 'wa-label' }, kbt('sp.workaround_label')), wa));
      if (row.childNodes.length) li.append(row);
    }
    return li;
  }

  function markCurrentHit() {
    for (const li of ui.hits.querySelectorAll('.hit')) {
      const cur = li.dataset.id === state.doc;
      li.classList.toggle('current', cur);
      const a = li.querySelector('.hit-title');
      if (cur) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
    }
  }

  /* ---------- filters ---------- */

  function syncFilterButtons() {
    for (const b of ui.kindBtns) b.setAttribute('aria-pressed', String(b.dataset.kind === state.kind));
    ui.clear.hidden = !(state.kind || state.category || state.standard);
  }

  function setOptions(select, allLabel, entries, current) {
    const opts = [el('option', { value: '' }, allLabel)];
    let seen = false;
    for (const [value, label] of entries) {
      if (value === current) seen = true;
      opts.push(el('option', { value }, label));
    }
    if (current && !seen) opts.push(el('option', { value: current }, current));
    select.replaceChildren(...opts);
    select.value = current || '';
  }

  function renderFacets(facets) {
    syncFilterButtons();
    const kf = (facets && facets.kind) || {};
    let all = 0;
    for (const k of KINDS) all += Number(kf[k]) || 0;
    for (const b of ui.kindBtns) {
      const span = b.querySelector('.count');
      const n = b.dataset.kind ? Number(kf[b.dataset.kind]) || 0 : all;
      span.textContent = facets ? String(n) : '';
    }

    /* The facet counts full category paths; the filter also takes any
     * upper level, so each level is offered with the sum below it. */
    const cf = (facets && facets.category) || {};
    const levels = new Map();
    for (const [full, n] of Object.entries(cf)) {
      const parts = full.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const p = parts.slice(0, i).join('/');
        levels.set(p, (levels.get(p) || 0) + (Number(n) || 0));
      }
    }
    const byLevels = (a, b) => {
      const x = a.split('/');
      const y = b.split('/');
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const d = x[i].localeCompare(y[i], 'zh-CN');
        if (d) return d;
      }
      return x.length - y.length;
    };
    const cats = Array.from(levels.keys()).sort(byLevels);
    setOptions(ui.category, kbt('sp.all_categories'), cats.map((c) => {
      const shown = categoryLabel.get(c.toLowerCase()) || c;
      const depth = c.split('/').length - 1;
      return [c, '\u3000'.repeat(depth) + kbt('sp.with_count', [shown.split('/').pop(), levels.get(c)])];
    }), state.category);

    const sf = (facets && facets.standard) || {};
    const stds = Object.keys(sf).sort((a, b) => stdName(a).localeCompare(stdName(b), 'zh-CN'));
    setOptions(ui.standard, kbt('sp.all_standards'), stds.map((s) => [s, kbt('sp.with_count', [stdName(s), sf[s]])]), state.standard);

    const showCat = !!state.category || ((state.kind === '' || state.kind === 'article') && cats.length > 0);
    const showStd = !!state.standard || ((state.kind === '' || state.kind === 'standard') && stds.length > 0);
    ui.categoryField.hidden = !showCat;
    ui.standardField.hidden = !showStd;
  }

  for (const b of ui.kindBtns) {
    b.addEventListener('click', () => {
      const kind = b.dataset.kind;
      const next = { kind, offset: 0 };
      if (kind && kind !== 'article') next.category = '';
      if (kind && kind !== 'standard') next.standard = '';
      navigate(next);
    });
  }
  ui.category.addEventListener('change', () => navigate({ category: ui.category.value, offset: 0 }));
  ui.standard.addEventListener('change', () => navigate({ standard: ui.standard.value, offset: 0 }));
  ui.clear.addEventListener('click', () => {
    navigate({ kind: '', category: '', standard: '', offset: 0 });
    ui.kindBtns[0].focus();
  });
  ui.prev.addEventListener('click', () => navigate({ offset: Math.max(0, state.offset - PAGE_SIZE) }, { focus: 'results' }));
  ui.next.addEventListener('click', () => navigate({ offset: state.offset + PAGE_SIZE }, { focus: 'results' }));

  /* ---------- completions ---------- */

  let sugTimer = 0;
  let sugSeq = 0;
  let sugCtl = null;
  let sugItems = [];
  let sugActive = -1;

  function closeSuggest() {
    clearTimeout(sugTimer);
    sugSeq++;
    if (sugCtl) { sugCtl.abort(); sugCtl = null; }
    sugItems = [];
    sugActive = -1;
    ui.list.hidden = true;
    ui.list.replaceChildren();
    ui.input.setAttribute('aria-expanded', 'false');
    ui.input.removeAttribute('aria-activedescendant');
  }

  async function fetchSuggest(value) {
    const seq = ++sugSeq;
    if (sugCtl) sugCtl.abort();
    sugCtl = new AbortController();
    try {
      const r = await api('/suggest?' + qs({ q: value }), sugCtl.signal);
      if (seq !== sugSeq || ui.input.value !== value || document.activeElement !== ui.input) return;
      renderSuggest(Array.isArray(r.suggestions) ? r.suggestions : [], value);
    } catch {
      /* completions are a convenience: a failure just shows none */
    }
  }

  function renderSuggest(items, typed) {
    sugItems = items.filter((s) => s && s.text);
    sugActive = -1;
    ui.input.removeAttribute('aria-activedescendant');
    if (!sugItems.length) {
      ui.list.hidden = true;
      ui.list.replaceChildren();
      ui.input.setAttribute('aria-expanded', 'false');
      return;
    }
    const lastWord = typed.trim().split(/\s+/).pop();
    ui.list.replaceChildren(...sugItems.map((s, i) => {
      const isTitle = s.kind === 'title' && s.id;
      const tag = isTitle
        ? el('span', { class: `badge kind-${KINDS.includes(s.doc_kind) ? s.doc_kind : 'article'}` }, kindShort(s.doc_kind))
        : el('span', { class: 'badge term' }, kbt('sp.kind_short.term'));
      const li = el('li', {
        id: 'sug-' + i, role: 'option', 'aria-selected': 'false', class: 'sug',
        'data-testid': 'suggestion-item', 'data-kind': isTitle ? 'title' : 'term',
      }, tag, el('span', { class: 'sug-text' }, emphasise(s.text, isTitle ? typed.trim() : lastWord)));
      li.addEventListener('mousedown', (ev) => ev.preventDefault()); // keep focus in the input
      li.addEventListener('mousemove', () => { if (sugActive !== i) setActive(i); });
      li.addEventListener('click', () => chooseSuggestion(i));
      return li;
    }));
    ui.list.hidden = false;
    ui.input.setAttribute('aria-expanded', 'true');
  }

  function setActive(i) {
    const items = ui.list.children;
    if (sugActive >= 0 && items[sugActive]) {
      items[sugActive].setAttribute('aria-selected', 'false');
      items[sugActive].classList.remove('active');
    }
    sugActive = i;
    if (i >= 0 && items[i]) {
      items[i].setAttribute('aria-selected', 'true');
      items[i].classList.add('active');
      items[i].scrollIntoView({ block: 'nearest' });
      ui.input.setAttribute('aria-activedescendant', items[i].id);
    } else {
      ui.input.removeAttribute('aria-activedescendant');
    }
  }

  function chooseSuggestion(i) {
    const s = sugItems[i];
    if (!s) return;
    const typed = ui.input.value.trim();
    closeSuggest();
    if (s.kind === 'title' && s.id) {
      /* open the document; the results stay those of what was typed */
      navigate({ q: typed || s.text, offset: 0, doc: s.id }, { focus: 'doc' });
    } else {
      ui.input.value = s.text;
      navigate({ q: s.text, offset: 0, doc: '' }, { force: true });
    }
  }

  ui.input.addEventListener('input', (ev) => {
    if (ev.isComposing) return; // wait for the IME to finish (compositionend)
    clearTimeout(sugTimer);
    const v = ui.input.value;
    if (!v.trim()) { closeSuggest(); return; }
    sugTimer = setTimeout(() => fetchSuggest(v), SUGGEST_DELAY_MS);
  });

  ui.input.addEventListener('compositionend', () => {
    ui.input.dispatchEvent(new Event('input'));
  });

  ui.input.addEventListener('keydown', (ev) => {
    if (ev.isComposing || ev.keyCode === 229) return; // IME is composing Chinese
    const open = !ui.list.hidden && sugItems.length > 0;
    switch (ev.key) {
      case 'ArrowDown':
        if (!open) {
          if (ui.input.value.trim()) { clearTimeout(sugTimer); fetchSuggest(ui.input.value); }
          return;
        }
        ev.preventDefault();
        setActive(sugActive + 1 >= sugItems.length ? 0 : sugActive + 1);
        break;
      case 'ArrowUp':
        if (!open) return;
        ev.preventDefault();
        setActive(sugActive <= 0 ? sugItems.length - 1 : sugActive - 1);
        break;
      case 'Enter':
        if (open && sugActive >= 0) {
          ev.preventDefault();
          chooseSuggestion(sugActive);
        }
        break;
      case 'Escape':
        if (open) { ev.preventDefault(); closeSuggest(); }
        break;
      case 'Tab':
        closeSuggest();
        break;
      default:
    }
  });

  ui.input.addEventListener('blur', () => closeSuggest());

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = ui.input.value.trim();
    closeSuggest();
    navigate({ q, offset: 0, doc: '' }, { force: true });
  });

  /* ---------- welcome ---------- */

  function renderWelcome() {
    ui.examples.replaceChildren(...EXAMPLES.map((q) => el('li', null, el('a', {
      href: urlFor({ q, kind: '', category: '', standard: '', offset: 0, doc: '' }),
      class: 'chip',
      onclick: (ev) => {
        if (!plainClick(ev)) return;
        ev.preventDefault();
        ui.input.value = q;
        navigate({ q, kind: '', category: '', standard: '', offset: 0, doc: '' });
      },
    }, q))));
    const stds = Array.from(standards.values());
    ui.stdList.replaceChildren(...(stds.length ? stds.map((s) => el('li', null,
      el('span', { class: 'std-name' }, [s.code, s.title].filter(Boolean).join(' ') || s.std),
      el('span', { class: 'std-count' }, kbt('sp.std_clauses', [s.clauses])),
      K.doc.link(`std-${s.std}:1`, kbt('sp.std_browse'), 'std-browse'))) : [el('li', { class: 'muted' }, kbt(stdListFailed ? 'sp.std_failed' : 'sp.std_loading'))]));
  }

  /* ---------- agent token ---------- */

  function syncToken() {
    const has = !!getToken();
    ui.tokenToggle.textContent = kbt(has ? 'sp.token.on' : 'sp.token');
    ui.tokenToggle.classList.toggle('on', has);
    ui.tokenToggle.title = kbt(has ? 'sp.token.on_title' : 'sp.token.title');
  }
  function showTokenPanel(show) {
    ui.tokenPanel.hidden = !show;
    ui.tokenToggle.setAttribute('aria-expanded', String(show));
    if (show) { ui.tokenInput.value = getToken(); ui.tokenInput.focus(); }
  }
  ui.tokenToggle.addEventListener('click', () => showTokenPanel(ui.tokenPanel.hidden));
  document.addEventListener('click', (ev) => {
    if (!ui.tokenPanel.hidden && !ev.target.closest('.token')) showTokenPanel(false);
  });
  ui.tokenPanel.addEventListener('submit', (ev) => {
    ev.preventDefault();
    setToken(ui.tokenInput.value.trim());
    afterTokenChange();
  });
  ui.tokenClear.addEventListener('click', () => { setToken(''); ui.tokenInput.value = ''; afterTokenChange(); });
  ui.tokenPanel.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') { showTokenPanel(false); ui.tokenToggle.focus(); }
  });
  function afterTokenChange() {
    syncToken();
    showTokenPanel(false);
    ui.tokenToggle.focus();
    update(state, { force: true, forceDoc: true });
    loadStandards();
  }

  /* ---------- start ---------- */

  Object.assign(K, { state: () => state, urlFor, navigate, markCurrentHit, updateTitle });

  state = readUrl();
  ui.input.value = state.q;
  syncToken();
  renderWelcome();
  update(null);
  loadStandards();
})();
