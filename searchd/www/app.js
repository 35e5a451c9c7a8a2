/* kbdesk search page: talks to searchd's JSON API (/search, /suggest, /doc,
 * /nav, /standards) and keeps its state in the URL
 * (?q=&kind=&category=&standard=&offset=&doc=).
 *
 * Safety rule: every string that comes from the index is inserted as text
 * (textContent / text nodes). The only markup we accept is the search
 * snippet's <mark>...</mark>, which is rebuilt node by node (snippetNodes);
 * nothing is ever assigned to innerHTML. */
'use strict';

(() => {
  const PAGE_SIZE = 10;
  const SUGGEST_DELAY_MS = 150;
  const TOKEN_KEY = 'kbdesk.agentToken';
  const KINDS = ['article', 'known_error', 'standard'];
  const KIND_LABEL = { article: '知识文章', known_error: '已知错误', standard: '标准条款' };
  const KIND_SHORT = { article: '文章', known_error: '已知错误', standard: '标准' };
  const STATUS_LABEL = { open: '未解决', workaround: '有临时方案', resolved: '已解决' };
  const LANG_LABEL = { zh: '中文', en: '英文', mixed: '中英混合' };
  const EXAMPLES = ['VPN 错误 809', 'ORA-12154', '打印机 0x0000011b', '账号锁定', '服务级别协议', '事件管理', '服务台'];

  const $ = (id) => document.getElementById(id);
  const ui = {
    form: $('search-form'), input: $('q'), list: $('suggest-list'),
    layout: $('layout'), results: $('results'), filters: $('filters'), status: $('status'), notice: $('notice'),
    error: $('error'), hits: $('hits'), pager: $('pager'), prev: $('prev-page'), next: $('next-page'),
    pageInfo: $('page-info'), welcome: $('welcome'), examples: $('examples'), stdList: $('std-list'),
    kindBtns: Array.from(document.querySelectorAll('.kind-btn')),
    category: $('category'), categoryField: $('category-field'),
    standard: $('standard'), standardField: $('standard-field'), clear: $('clear-filters'),
    docPane: $('doc-pane'), doc: $('doc'), docError: $('doc-error'), docLoading: $('doc-loading'),
    docClose: $('doc-close'), copyStatus: $('copy-status'),
    tokenToggle: $('token-toggle'), tokenPanel: $('token-panel'), tokenInput: $('token-input'),
    tokenClear: $('token-clear'),
  };

  /* ---------- small DOM helpers ---------- */

  /* el('a', {href: x, class: 'c'}, 'text', node, ...): strings become text nodes. */
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') e.className = v;
        else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of kids.flat(Infinity)) {
      if (c === null || c === undefined || c === false || c === '') continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'", '&#34;': '"', '&apos;': "'" };
  /* One pass, so "&amp;lt;" becomes the text "&lt;", never "<". Anything
   * else that looks like an entity stays as literal text. */
  function decodeEntities(s) {
    return s.replace(/&(?:amp|lt|gt|quot|apos|#39|#x27|#34);/g, (m) => ENTITIES[m]);
  }

  /* The snippet is HTML-escaped text whose only markup is <mark>...</mark>:
   * split on those literal tags and rebuild text nodes and <mark> elements. */
  function snippetNodes(snippet) {
    const frag = document.createDocumentFragment();
    let mark = null;
    for (const part of String(snippet || '').split(/(<mark>|<\/mark>)/)) {
      if (part === '<mark>') {
        if (!mark) { mark = document.createElement('mark'); frag.append(mark); }
      } else if (part === '</mark>') {
        mark = null;
      } else if (part) {
        (mark || frag).append(document.createTextNode(decodeEntities(part)));
      }
    }
    return frag;
  }

  /* Text with the (case-insensitive) first occurrence of needle in <strong>. */
  function emphasise(text, needle) {
    const i = needle ? text.toLowerCase().indexOf(needle.toLowerCase()) : -1;
    if (i < 0 || !needle) return [text];
    return [text.slice(0, i), el('strong', null, text.slice(i, i + needle.length)), text.slice(i + needle.length)];
  }

  /* ---------- a small Markdown subset, built as DOM nodes ---------- */

  const LIST_RE = /^(\s*)([-*+]|\d{1,3}[.)])\s+(.*)$/;
  const FENCE_RE = /^(\s*)(`{3,}|~{3,})\s*[\w+#.-]*\s*$/;
  const TABLE_RE = /^\s*\|.*\|\s*$/;
  const indentOf = (s) => s.match(/^\s*/)[0].length;

  function inline(text) {
    const out = [];
    for (const part of text.split(/(`[^`]+`|\*\*[^*]+\*\*)/)) {
      if (!part) continue;
      if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) out.push(el('code', null, part.slice(1, -1)));
      else if (part.length > 4 && part.startsWith('**') && part.endsWith('**')) out.push(el('strong', null, part.slice(2, -2)));
      else out.push(...linkIds(part));
    }
    return out;
  }

  /* The ids the document being shown may link to: its "refs", the
   * documents named in it that this caller may see (searchd decides). */
  let docRefs = new Set();

  /* "见 KE-0002" in an article: ids of documents the caller may see become
   * links; any other id (an internal document, for a caller without the
   * agent token) stays plain text. */
  function linkIds(text) {
    const out = [];
    const re = /\b((?:KB|KE)-\d{3,6})\b/g;
    let last = 0;
    let m;
    while ((m = re.exec(text))) {
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(docRefs.has(m[1]) ? docLink(m[1], m[1], 'doc-ref') : m[1]);
      last = m.index + m[1].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }

  function isBlockStart(line) {
    return FENCE_RE.test(line) || /^#{1,6}\s/.test(line) || TABLE_RE.test(line) || /^\s*>/.test(line) || LIST_RE.test(line);
  }

  function dedent(lines) {
    const ind = Math.min(...lines.filter((l) => l.trim()).map(indentOf));
    return Number.isFinite(ind) ? lines.map((l) => l.slice(Math.min(ind, indentOf(l)))) : lines;
  }

  function tableNode(rows) {
    const cells = (r) => r.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
    const body = rows.filter((r) => !/^\s*\|?\s*:?-{2,}/.test(r));
    if (!body.length) return null;
    const [head, ...rest] = body;
    return el('div', { class: 'table-wrap' }, el('table', null,
      el('thead', null, el('tr', null, cells(head).map((c) => el('th', { scope: 'col' }, inline(c))))),
      el('tbody', null, rest.map((r) => el('tr', null, cells(r).map((c) => el('td', null, inline(c))))))));
  }

  function renderBlocks(lines, parent) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if (!line.trim()) { i++; continue; }
      if ((m = line.match(FENCE_RE))) {
        const fence = m[2];
        const code = [];
        for (i++; i < lines.length && !lines[i].trim().startsWith(fence); i++) code.push(lines[i]);
        i++;
        parent.append(el('pre', { class: 'code' }, el('code', null, dedent(code).join('\n'))));
      } else if ((m = line.match(/^(#{1,6})\s+(.*?)\s*#*\s*$/))) {
        parent.append(el('h' + Math.min(6, Math.max(3, m[1].length + 1)), null, inline(m[2])));
        i++;
      } else if (TABLE_RE.test(line)) {
        const rows = [];
        while (i < lines.length && TABLE_RE.test(lines[i])) rows.push(lines[i++]);
        const t = tableNode(rows);
        if (t) parent.append(t);
      } else if (/^\s*>/.test(line)) {
        const inner = [];
        while (i < lines.length && /^\s*>/.test(lines[i])) inner.push(lines[i++].replace(/^\s*>\s?/, ''));
        const bq = el('blockquote');
        renderBlocks(inner, bq);
        parent.append(bq);
      } else if ((m = line.match(LIST_RE))) {
        const ordered = /\d/.test(m[2]);
        const base = m[1].length;
        const list = el(ordered ? 'ol' : 'ul');
        if (ordered && parseInt(m[2], 10) !== 1) list.setAttribute('start', String(parseInt(m[2], 10)));
        const sameList = (l) => { const x = l.match(LIST_RE); return x && x[1].length === base && /\d/.test(x[2]) === ordered; };
        while (i < lines.length && sameList(lines[i])) {
          const item = [lines[i].match(LIST_RE)[3]];
          i++;
          const more = [];
          while (i < lines.length) {
            if (!lines[i].trim()) {
              let j = i;
              while (j < lines.length && !lines[j].trim()) j++;
              if (j < lines.length && indentOf(lines[j]) > base && !LIST_RE.test(lines[j].slice(base))) {
                for (; i < j; i++) more.push('');
                continue;
              }
              break;
            }
            if (indentOf(lines[i]) > base) { more.push(lines[i]); i++; continue; }
            break;
          }
          const li = el('li');
          renderBlocks(item.concat(dedent(more)), li);
          list.append(li);
          let j = i;
          while (j < lines.length && !lines[j].trim()) j++;
          if (j < lines.length && sameList(lines[j])) i = j; else break;
        }
        parent.append(list);
      } else {
        const p = el('p');
        let first = true;
        while (i < lines.length && lines[i].trim() && (first || !isBlockStart(lines[i]))) {
          if (!first) p.append(el('br'));
          p.append(...inline(lines[i].trim()));
          first = false;
          i++;
        }
        parent.append(p);
      }
    }
  }

  function markdown(text) {
    const box = el('div', { class: 'md' });
    renderBlocks(String(text || '').replace(/\r\n?/g, '\n').split('\n'), box);
    return box;
  }

  /* ---------- API ---------- */

  /* Chinese wording for the API's error codes; the server's own message
   * is kept as detail. */
  const ERROR_TEXT = {
    network: '无法连接搜索服务，请检查网络后重试',
    bad_offset: '页码超出范围',
    bad_limit: '每页条数无效',
    bad_kind: '文档类型筛选无效',
    bad_lang: '语言筛选无效',
    bad_filter: '筛选条件过长',
    bad_encoding: '查询包含无效字符',
    bad_escape: '查询包含无效字符',
    bad_query: '查询无法处理',
    missing_query: '请输入查询内容',
    query_too_long: '查询内容过长，请缩短后再试',
    uri_too_long: '请求过长',
    not_found: '未找到',
    index_unavailable: '索引暂时不可用，请稍后重试',
    overloaded: '服务繁忙，请稍后重试',
    internal: '服务内部错误，请稍后重试',
  };

  function errorNodes(prefix, e) {
    const nodes = [el('strong', null, prefix), ERROR_TEXT[e.code] || e.message];
    if (ERROR_TEXT[e.code] && e.detail) nodes.push(el('span', { class: 'err-detail' }, e.detail));
    return nodes;
  }

  class ApiError extends Error {
    constructor(message, status, code, detail) { super(message); this.status = status; this.code = code; this.detail = detail; }
  }

  function getToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
  }

  function setToken(t) {
    try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch { /* storage disabled */ }
  }

  async function api(path, signal) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    let r;
    try {
      r = await fetch(path, { headers, signal, cache: 'no-store' });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError('无法连接搜索服务，请检查网络后重试。', 0, 'network');
    }
    let body = null;
    try { body = await r.json(); } catch (e) { if (e.name === 'AbortError') throw e; }
    if (!r.ok) {
      const err = (body && body.error) || {};
      const detail = typeof err.message === 'string' ? err.message : '';
      let msg = detail || `服务返回错误（HTTP ${r.status}）`;
      if (r.status === 401 || r.status === 403) msg += '（请检查坐席令牌）';
      throw new ApiError(msg, r.status, typeof err.code === 'string' ? err.code : '', detail);
    }
    if (body === null) throw new ApiError('服务返回的内容无法解析。', r.status, 'bad_json');
    return body;
  }

  const qs = (o) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== '' && v !== null && v !== undefined) p.set(k, String(v));
    return p.toString();
  };
  /* Document ids are ASCII letters, digits, "-_.:"; keep ':' readable in paths. */
  const idPath = (id) => encodeURIComponent(id).replace(/%3A/gi, ':');

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
    if (!prev || opts.forceDoc || prev.doc !== state.doc) loadDoc(opts.focus === 'doc');
    else if (opts.focus === 'doc') focusDoc();
    updateTitle();
  }

  function updateTitle() {
    const parts = [];
    if (state.doc && currentDoc && currentDoc.id === state.doc) parts.push(currentDoc.title);
    if (state.q) parts.push(`“${state.q}”的搜索结果`);
    parts.push('kbdesk 知识库检索');
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

    /* facets=1: searchd counts the facets only when asked */
    const base = { q: s.q, kind: s.kind, category: s.category, standard: s.standard, facets: 1 };
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
      ui.error.replaceChildren(...errorNodes('搜索失败：', e));
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

    const quoted = `“${shorten(shownQuery, 40)}”`;
    if (total === 0 || (!hits.length && offset === 0)) {
      ui.status.textContent = `没有找到与${quoted}相关的结果`;
    } else if (!hits.length) {
      ui.status.textContent = `${quoted}共 ${total} 条结果，本页没有结果`;
    } else {
      ui.status.textContent = `${quoted}共 ${total} 条结果，第 ${offset + 1}–${offset + hits.length} 条（用时 ${fmtMs(res.took_ms)} 毫秒）`;
    }

    if (res.corrected) {
      ui.notice.append(`未找到“${state.q}”的结果，已显示 `,
        el('strong', { 'data-testid': 'corrected' }, res.corrected), ' 的结果。');
      ui.notice.hidden = false;
    } else if (res.suggestion && res.suggestion !== state.q) {
      const sugg = res.suggestion;
      ui.notice.append('您是不是要找：', el('a', {
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
      }, '回到第一页')));
    } else if (!hits.length) {
      const tips = ['检查错别字，或换用更短、更通用的词', '错误码可以直接输入，如 0x80070005、ORA-12154'];
      if (state.kind || state.category || state.standard) tips.unshift('清除筛选条件后再试');
      ui.hits.append(el('li', { class: 'empty' }, el('ul', null, tips.map((t) => el('li', null, t)))));
    }

    const pages = Math.max(1, Math.ceil(total / limit));
    const page = Math.floor(offset / limit) + 1;
    ui.pager.hidden = total <= limit && offset === 0;
    ui.prev.disabled = offset <= 0;
    ui.next.disabled = offset + limit >= total;
    ui.pageInfo.textContent = `第 ${page} / ${pages} 页`;

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
    const badges = [el('span', { class: `badge kind-${kind}`, 'data-testid': 'kind-badge' }, KIND_LABEL[kind])];
    if (h.visibility === 'internal') badges.push(el('span', { class: 'badge internal' }, '内部'));

    const meta = [];
    if (kind === 'standard') {
      if (h.standard || h.std) meta.push(el('span', { class: 'meta-std' }, h.standard || stdName(h.std)));
      if (h.path) meta.push(el('span', { class: 'meta-path' }, String(h.path).split(' > ').join(' › ')));
    } else if (kind === 'known_error') {
      if (h.service) meta.push(el('span', null, h.service));
      if (h.updated) meta.push(el('span', null, '更新 ' + h.updated));
    } else {
      if (h.category) meta.push(el('span', null, String(h.category).split('/').join(' / ')));
      if (h.updated) meta.push(el('span', null, '更新 ' + h.updated));
    }

    const li = el('li', { class: 'hit', 'data-testid': 'result-item', 'data-kind': kind, 'data-id': h.id },
      el('div', { class: 'hit-head' }, badges, title),
      meta.length ? el('div', { class: 'hit-meta' }, meta) : null,
      h.snippet ? el('p', { class: 'snippet', 'data-testid': 'snippet' }, snippetNodes(h.snippet)) : null);

    if (kind === 'known_error') {
      const row = el('p', { class: 'hit-ke' });
      if (h.status) row.append(el('span', { class: `badge status-${h.status}`, 'data-testid': 'ke-status' }, STATUS_LABEL[h.status] || h.status));
      const wa = firstLine(h.workaround);
      if (wa) row.append(el('span', { class: 'wa', 'data-testid': 'ke-workaround' }, el('span', { class: 'wa-label' }, '临时方案：'), wa));
      if (row.childNodes.length) li.append(row);
    }
    return li;
  }

  /* The first meaningful line of a Markdown text, without list markers and backticks. */
  function firstLine(text) {
    if (!text) return '';
    for (const raw of String(text).split('\n')) {
      const l = raw.trim();
      if (!l || /^(`{3,}|~{3,}|\|)/.test(l)) continue;
      return l.replace(/^([-*+]|\d{1,3}[.)])\s+/, '').replace(/^#+\s*/, '').replace(/`|\*\*/g, '');
    }
    return '';
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
    setOptions(ui.category, '全部分类', cats.map((c) => {
      const shown = categoryLabel.get(c.toLowerCase()) || c;
      const depth = c.split('/').length - 1;
      return [c, '\u3000'.repeat(depth) + shown.split('/').pop() + `（${levels.get(c)}）`];
    }), state.category);

    const sf = (facets && facets.standard) || {};
    const stds = Object.keys(sf).sort((a, b) => stdName(a).localeCompare(stdName(b), 'zh-CN'));
    setOptions(ui.standard, '全部标准', stds.map((s) => [s, `${stdName(s)}（${sf[s]}）`]), state.standard);

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
        ? el('span', { class: `badge kind-${KINDS.includes(s.doc_kind) ? s.doc_kind : 'article'}` }, KIND_SHORT[s.doc_kind] || '文档')
        : el('span', { class: 'badge term' }, '搜索');
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

  /* ---------- document view ---------- */

  let docSeq = 0;
  let docCtl = null;
  let currentDoc = null;

  function focusDoc() {
    const h = $('doc-title');
    if (h) h.focus({ preventScroll: false });
    else ui.docPane.focus();
  }

  async function loadDoc(focus) {
    const id = state.doc;
    const seq = ++docSeq;
    if (docCtl) docCtl.abort();
    ui.layout.classList.toggle('has-doc', !!id);
    markCurrentHit();
    if (!id) {
      currentDoc = null;
      ui.docPane.hidden = true;
      ui.doc.replaceChildren();
      ui.docError.hidden = true;
      updateTitle();
      return;
    }
    docCtl = new AbortController();
    const signal = docCtl.signal;
    ui.docPane.hidden = false;
    ui.docLoading.hidden = false;
    ui.docPane.setAttribute('aria-busy', 'true');
    try {
      const navP = id.startsWith('std-')
        ? api('/nav/' + idPath(id), signal).catch((e) => { if (e.name === 'AbortError') throw e; return null; })
        : Promise.resolve(null);
      const [d, nav] = await Promise.all([api('/doc/' + idPath(id), signal), navP]);
      if (seq !== docSeq) return;
      currentDoc = d;
      ui.docError.hidden = true;
      ui.doc.replaceChildren(...docNodes(d, d.kind === 'standard' ? nav : null));
      ui.docPane.scrollTop = 0;
      if (focus) focusDoc();
    } catch (e) {
      if (e.name === 'AbortError' || seq !== docSeq) return;
      currentDoc = null;
      ui.doc.replaceChildren();
      if (e.status === 404) ui.docError.replaceChildren(el('strong', null, '无法打开文档：'), `没有编号为 ${id} 的文档，或您无权查看。`);
      else ui.docError.replaceChildren(...errorNodes('无法打开文档：', e));
      ui.docError.hidden = false;
      if (focus) ui.docClose.focus();
    } finally {
      if (seq === docSeq) {
        ui.docLoading.hidden = true;
        ui.docPane.removeAttribute('aria-busy');
      }
      updateTitle();
    }
  }

  function docLink(id, text, testid, rel) {
    return el('a', { href: urlFor({ ...state, doc: id }), 'data-doc': id, 'data-testid': testid, rel }, text);
  }

  function metaList(pairs) {
    const dl = el('dl', { class: 'doc-meta' });
    for (const [k, v] of pairs) {
      if (v === null || v === undefined || v === '' || (Array.isArray(v) && !v.length)) continue;
      dl.append(el('div', null, el('dt', null, k), el('dd', null, v)));
    }
    return dl;
  }

  function tagList(tags) {
    const list = Array.isArray(tags) ? tags : String(tags || '').split(/[,，]/);
    const clean = list.map((t) => String(t).trim()).filter(Boolean);
    return clean.length ? el('ul', { class: 'tags' }, clean.map((t) => el('li', null, t))) : null;
  }

  function citationText(d) {
    const std = d.std_code || d.std_title || '';
    return [std, d.clause, d.heading].filter(Boolean).join(' ');
  }

  function docNodes(d, nav) {
    docRefs = new Set(Array.isArray(d.refs) ? d.refs : []);
    const kind = KINDS.includes(d.kind) ? d.kind : 'article';
    const out = [];
    const badges = el('div', { class: 'doc-badges' },
      el('span', { class: `badge kind-${kind}` }, KIND_LABEL[kind]),
      d.visibility === 'internal' ? el('span', { class: 'badge internal' }, '内部') : null,
      kind === 'known_error' && d.status ? el('span', { class: `badge status-${d.status}` }, STATUS_LABEL[d.status] || d.status) : null,
      el('span', { class: 'doc-id' }, d.id));
    out.push(badges);

    if (kind === 'standard') out.push(breadcrumbs(d));
    out.push(el('h2', { id: 'doc-title', tabindex: '-1', 'data-testid': 'doc-title' }, d.title || d.id));

    if (kind === 'standard') {
      out.push(metaList([
        ['标准', [d.std_code, d.std_title].filter(Boolean).join(' ')],
        ['条款', d.clause],
      ]));
      out.push(citationBox(d));
      const body = el('div', { class: 'plain', 'data-testid': 'doc-body' });
      body.textContent = d.body || '';
      out.push(el('section', { class: 'doc-section' }, body));
      if (nav) out.push(clauseNav(nav));
    } else if (kind === 'known_error') {
      out.push(metaList([['影响服务', d.service], ['状态', STATUS_LABEL[d.status] || d.status], ['更新日期', d.updated], ['产品', d.product]]));
      const sections = [['症状', d.symptom], ['原因', d.cause], ['临时解决方案', d.workaround], ['解决方案', d.resolution], ['补充说明', d.body]];
      for (const [name, text] of sections) {
        if (!text || !String(text).trim()) continue;
        out.push(el('section', { class: 'doc-section', 'data-testid': 'ke-section' }, el('h3', null, name), markdown(text)));
      }
      if (!d.resolution && !d.workaround) out.push(el('p', { class: 'muted' }, '暂无临时或最终解决方案。'));
    } else {
      out.push(metaList([
        ['分类', d.category ? String(d.category).split('/').join(' / ') : ''],
        ['产品', d.product], ['标签', tagList(d.tags)],
        ['语言', LANG_LABEL[d.lang] || d.lang], ['更新日期', d.updated],
      ]));
      out.push(el('section', { class: 'doc-section', 'data-testid': 'doc-body' }, markdown(d.body)));
    }
    if (d.source) out.push(el('p', { class: 'doc-source' }, '来源：', el('code', null, d.source)));
    return out;
  }

  function breadcrumbs(d) {
    const ol = el('ol');
    ol.append(el('li', null, el('span', { class: 'crumb-std' }, d.std_code || d.std_title || d.std || '标准')));
    const slug = d.std || (d.id.startsWith('std-') ? d.id.slice(4, d.id.lastIndexOf(':')) : '');
    for (const part of String(d.path || '').split(' > ').map((s) => s.trim()).filter(Boolean)) {
      const num = (part.match(/^(\d+(?:\.\d+)*)\s/) || [])[1];
      ol.append(el('li', null, num && slug ? docLink(`std-${slug}:${num}`, part, 'crumb-link') : part));
    }
    ol.append(el('li', { 'aria-current': 'page' }, [d.clause, d.heading].filter(Boolean).join(' ') || d.title));
    return el('nav', { class: 'crumbs', 'aria-label': '条款位置', 'data-testid': 'breadcrumbs' }, ol);
  }

  function citationBox(d) {
    const text = citationText(d);
    const code = el('span', { class: 'cite-text', 'data-testid': 'citation' }, text);
    const btn = el('button', { type: 'button', class: 'btn', 'data-testid': 'copy-citation' }, '复制引用');
    btn.addEventListener('click', async () => {
      const ok = await copyText(text);
      if (ok) {
        btn.textContent = '已复制';
        ui.copyStatus.textContent = '引用已复制到剪贴板';
      } else {
        const r = document.createRange();
        r.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        btn.textContent = '请按 Ctrl+C 复制';
        ui.copyStatus.textContent = '无法自动复制，引用文字已选中，请按 Ctrl+C 复制';
      }
      setTimeout(() => { btn.textContent = '复制引用'; ui.copyStatus.textContent = ''; }, 2500);
    });
    return el('div', { class: 'cite' }, el('span', { class: 'cite-label' }, '引用'), code, btn);
  }

  async function copyText(text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch { /* fall through to the old way */ }
    const ta = el('textarea', { class: 'clip', readonly: true, 'aria-hidden': 'true', tabindex: '-1' });
    ta.value = text;
    const active = document.activeElement;
    document.body.append(ta);
    ta.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    ta.remove();
    if (active && active.focus) active.focus();
    return ok;
  }

  function clauseNav(nav) {
    const ref = (r) => [r.clause, r.heading].filter(Boolean).join(' ') || r.id;
    const rows = [];
    if (nav.parent) rows.push(el('li', null, el('span', { class: 'nav-label' }, '上级'), docLink(nav.parent.id, ref(nav.parent), 'nav-parent', 'up')));
    if (nav.prev) rows.push(el('li', null, el('span', { class: 'nav-label' }, '上一条'), docLink(nav.prev.id, ref(nav.prev), 'nav-prev', 'prev')));
    if (nav.next) rows.push(el('li', null, el('span', { class: 'nav-label' }, '下一条'), docLink(nav.next.id, ref(nav.next), 'nav-next', 'next')));
    const box = el('nav', { class: 'clause-nav', 'aria-label': '条款导航', 'data-testid': 'clause-nav' });
    if (rows.length) box.append(el('ul', { class: 'nav-rows' }, rows));
    const kids = Array.isArray(nav.children) ? nav.children : [];
    if (kids.length) {
      box.append(el('h3', null, `下级条款（${kids.length}）`),
        el('ul', { class: 'nav-children' }, kids.map((c) => el('li', null, docLink(c.id, ref(c), 'nav-child')))));
    }
    return box;
  }

  /* Links to documents (results, breadcrumbs, clause navigation, standards
   * list) open in place; modified clicks keep the browser's behaviour. */
  function plainClick(ev) {
    return ev.button === 0 && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey && !ev.altKey;
  }
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a[data-doc]');
    if (!a || !plainClick(ev)) return;
    ev.preventDefault();
    navigate({ doc: a.dataset.doc }, { focus: 'doc' });
  });

  ui.docClose.addEventListener('click', () => {
    const id = state.doc;
    navigate({ doc: '' });
    const link = Array.from(ui.hits.querySelectorAll('a[data-doc]')).find((a) => a.dataset.doc === id);
    if (link) link.focus(); else ui.input.focus();
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && state.doc && !ev.defaultPrevented && document.activeElement !== ui.input
        && ui.tokenPanel.hidden && window.matchMedia('(max-width: 899px)').matches) {
      ui.docClose.click();
    }
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
      el('span', { class: 'std-count' }, `${s.clauses} 条`),
      docLink(`std-${s.std}:1`, '从第 1 章阅读', 'std-browse'))) : [el('li', { class: 'muted' }, stdListFailed ? '无法读取标准目录。' : '正在读取标准目录…')]));
  }

  /* ---------- agent token ---------- */

  function syncToken() {
    const has = !!getToken();
    ui.tokenToggle.textContent = has ? '坐席令牌 ✓' : '坐席令牌';
    ui.tokenToggle.classList.toggle('on', has);
    ui.tokenToggle.title = has ? '已使用坐席令牌：可查看内部文档' : '输入坐席令牌以查看内部文档';
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

  state = readUrl();
  ui.input.value = state.q;
  syncToken();
  renderWelcome();
  update(null);
  loadStandards();
})();
