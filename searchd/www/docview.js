/* kbdesk search page: the document view (added to window.kbsearch as
 * K.doc): loading a document (/doc/ID, and /nav/ID for a standard clause)
 * when the URL's doc changes, drawing an article, a known error (its
 * sections) or a clause (heading path, citation to copy, links to parent,
 * siblings and children), links between documents, and closing the view.
 * Bodies are rendered by K.markdown (render.js); ids of documents named in
 * a body are links only when searchd lists them in the document's refs
 * (the documents this caller may see). The URL state and navigate() are
 * app.js's (K.state(), K.urlFor, K.navigate). */
'use strict';

(() => {
  const K = window.kbsearch;
  const { $, el, api, idPath, errorNodes, plainClick } = K;
  const KINDS = ['article', 'known_error', 'standard'];
  const ui = {
    layout: $('layout'), hits: $('hits'), input: $('q'),
    pane: $('doc-pane'), doc: $('doc'), error: $('doc-error'), loading: $('doc-loading'),
    close: $('doc-close'), copyStatus: $('copy-status'), tokenPanel: $('token-panel'),
  };

  let seq = 0;
  let ctl = null;
  let current = null;

  const statusLabel = (s) => (['open', 'workaround', 'resolved'].includes(s) ? kbt('sp.status.' + s) : s);
  const langLabel = (l) => (['zh', 'en', 'mixed'].includes(l) ? kbt('sp.lang.' + l) : l);
  /* The language a document is written in, for <article lang>. */
  const docLang = (d) => (d.lang === 'en' ? 'en' : d.lang === 'zh' || d.lang === 'mixed' || d.kind === 'standard' ? 'zh-CN' : '');

  function focus() {
    const h = $('doc-title');
    if (h) h.focus({ preventScroll: false });
    else ui.pane.focus();
  }

  /* Loads and draws the URL's document (none: hides the view); focus
   * moves to its title when asked. An older answer never replaces a newer. */
  async function load(wantFocus) {
    const id = K.state().doc;
    const my = ++seq;
    if (ctl) ctl.abort();
    ui.layout.classList.toggle('has-doc', !!id);
    K.markCurrentHit();
    if (!id) {
      current = null;
      ui.pane.hidden = true;
      ui.doc.replaceChildren();
      ui.error.hidden = true;
      K.updateTitle();
      return;
    }
    ctl = new AbortController();
    const signal = ctl.signal;
    ui.pane.hidden = false;
    ui.loading.hidden = false;
    ui.pane.setAttribute('aria-busy', 'true');
    try {
      const navP = id.startsWith('std-')
        ? api('/nav/' + idPath(id), signal).catch((e) => { if (e.name === 'AbortError') throw e; return null; })
        : Promise.resolve(null);
      const [d, nav] = await Promise.all([api('/doc/' + idPath(id), signal), navP]);
      if (my !== seq) return;
      current = d;
      ui.error.hidden = true;
      ui.doc.replaceChildren(...docNodes(d, d.kind === 'standard' ? nav : null));
      if (docLang(d)) ui.doc.lang = docLang(d); else ui.doc.removeAttribute('lang');
      ui.pane.scrollTop = 0;
      if (wantFocus) focus();
    } catch (e) {
      if (e.name === 'AbortError' || my !== seq) return;
      current = null;
      ui.doc.replaceChildren();
      if (e.status === 404) ui.error.replaceChildren(el('strong', null, kbt('sp.doc.cannot_open')), kbt('sp.doc.not_found', [id]));
      else ui.error.replaceChildren(...errorNodes(kbt('sp.doc.cannot_open'), e));
      ui.error.hidden = false;
      if (wantFocus) ui.close.focus();
    } finally {
      if (my === seq) {
        ui.loading.hidden = true;
        ui.pane.removeAttribute('aria-busy');
      }
      K.updateTitle();
    }
  }

  /* A link that opens document id in place (the click handler below). */
  function link(id, text, testid, rel) {
    return el('a', { href: K.urlFor({ ...K.state(), doc: id }), 'data-doc': id, 'data-testid': testid, rel }, text);
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
    const refs = new Set(Array.isArray(d.refs) ? d.refs : []);
    const md = (text) => K.markdown(text, refs, (id) => link(id, id, 'doc-ref'));
    const kind = KINDS.includes(d.kind) ? d.kind : 'article';
    const out = [];
    out.push(el('div', { class: 'doc-badges' },
      el('span', { class: `badge kind-${kind}` }, kbt('sp.kind.' + kind)),
      d.visibility === 'internal' ? el('span', { class: 'badge internal' }, kbt('sp.internal')) : null,
      kind === 'known_error' && d.status ? el('span', { class: `badge status-${d.status}` }, statusLabel(d.status)) : null,
      el('span', { class: 'doc-id' }, d.id)));

    if (kind === 'standard') out.push(breadcrumbs(d));
    out.push(el('h2', { id: 'doc-title', tabindex: '-1', 'data-testid': 'doc-title' }, d.title || d.id));

    if (kind === 'standard') {
      out.push(metaList([
        [kbt('sp.meta.standard'), [d.std_code, d.std_title].filter(Boolean).join(' ')],
        [kbt('sp.meta.clause'), d.clause],
      ]));
      out.push(citationBox(d));
      const body = el('div', { class: 'plain', 'data-testid': 'doc-body' });
      body.textContent = d.body || '';
      out.push(el('section', { class: 'doc-section' }, body));
      if (nav) out.push(clauseNav(nav));
    } else if (kind === 'known_error') {
      out.push(metaList([[kbt('sp.meta.service'), d.service], [kbt('sp.meta.status'), statusLabel(d.status)],
        [kbt('sp.meta.updated'), d.updated], [kbt('sp.meta.product'), d.product]]));
      for (const f of ['symptom', 'cause', 'workaround', 'resolution', 'body']) {
        const text = d[f];
        if (!text || !String(text).trim()) continue;
        out.push(el('section', { class: 'doc-section', 'data-testid': 'ke-section' }, el('h3', null, kbt('sp.ke.' + f)), md(text)));
      }
      if (!d.resolution && !d.workaround) out.push(el('p', { class: 'muted' }, kbt('sp.ke.no_solution')));
    } else {
      out.push(metaList([
        [kbt('sp.meta.category'), d.category ? String(d.category).split('/').join(' / ') : ''],
        [kbt('sp.meta.product'), d.product], [kbt('sp.meta.tags'), tagList(d.tags)],
        [kbt('sp.meta.lang'), langLabel(d.lang)], [kbt('sp.meta.updated'), d.updated],
      ]));
      out.push(el('section', { class: 'doc-section', 'data-testid': 'doc-body' }, md(d.body)));
    }
    if (d.source) out.push(el('p', { class: 'doc-source' }, kbt('sp.doc.source'), el('code', null, d.source)));
    return out;
  }

  function breadcrumbs(d) {
    const ol = el('ol');
    ol.append(el('li', null, el('span', { class: 'crumb-std' }, d.std_code || d.std_title || d.std || kbt('sp.meta.standard'))));
    const slug = d.std || (d.id.startsWith('std-') ? d.id.slice(4, d.id.lastIndexOf(':')) : '');
    for (const part of String(d.path || '').split(' > ').map((s) => s.trim()).filter(Boolean)) {
      const num = (part.match(/^(\d+(?:\.\d+)*)\s/) || [])[1];
      ol.append(el('li', null, num && slug ? link(`std-${slug}:${num}`, part, 'crumb-link') : part));
    }
    ol.append(el('li', { 'aria-current': 'page' }, [d.clause, d.heading].filter(Boolean).join(' ') || d.title));
    return el('nav', { class: 'crumbs', 'aria-label': kbt('sp.doc.crumbs'), 'data-testid': 'breadcrumbs' }, ol);
  }

  function citationBox(d) {
    const text = citationText(d);
    const code = el('span', { class: 'cite-text', 'data-testid': 'citation' }, text);
    const btn = el('button', { type: 'button', class: 'btn', 'data-testid': 'copy-citation' }, kbt('sp.cite.copy'));
    btn.addEventListener('click', async () => {
      const ok = await copyText(text);
      if (ok) {
        btn.textContent = kbt('sp.cite.copied');
        ui.copyStatus.textContent = kbt('sp.cite.copied_status');
      } else {
        const r = document.createRange();
        r.selectNodeContents(code);
        const sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(r);
        btn.textContent = kbt('sp.cite.press');
        ui.copyStatus.textContent = kbt('sp.cite.press_status');
      }
      setTimeout(() => { btn.textContent = kbt('sp.cite.copy'); ui.copyStatus.textContent = ''; }, 2500);
    });
    return el('div', { class: 'cite' }, el('span', { class: 'cite-label' }, kbt('sp.cite.label')), code, btn);
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
    if (nav.parent) rows.push(el('li', null, el('span', { class: 'nav-label' }, kbt('sp.nav.parent')), link(nav.parent.id, ref(nav.parent), 'nav-parent', 'up')));
    if (nav.prev) rows.push(el('li', null, el('span', { class: 'nav-label' }, kbt('sp.nav.prev')), link(nav.prev.id, ref(nav.prev), 'nav-prev', 'prev')));
    if (nav.next) rows.push(el('li', null, el('span', { class: 'nav-label' }, kbt('sp.nav.next')), link(nav.next.id, ref(nav.next), 'nav-next', 'next')));
    const box = el('nav', { class: 'clause-nav', 'aria-label': kbt('sp.nav.label'), 'data-testid': 'clause-nav' });
    if (rows.length) box.append(el('ul', { class: 'nav-rows' }, rows));
    const kids = Array.isArray(nav.children) ? nav.children : [];
    if (kids.length) {
      box.append(el('h3', null, kbt('sp.nav.children', [kids.length])),
        el('ul', { class: 'nav-children' }, kids.map((c) => el('li', null, link(c.id, ref(c), 'nav-child')))));
    }
    return box;
  }

  /* Links to documents (results, breadcrumbs, clause navigation, standards
   * list, ids in bodies) open in place; modified clicks keep the browser's
   * behaviour. */
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a[data-doc]');
    if (!a || !plainClick(ev)) return;
    ev.preventDefault();
    K.navigate({ doc: a.dataset.doc }, { focus: 'doc' });
  });

  ui.close.addEventListener('click', () => {
    const id = K.state().doc;
    K.navigate({ doc: '' });
    const back = Array.from(ui.hits.querySelectorAll('a[data-doc]')).find((a) => a.dataset.doc === id);
    if (back) back.focus(); else ui.input.focus();
  });

  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape' && K.state().doc && !ev.defaultPrevented && document.activeElement !== ui.input
        && ui.tokenPanel.hidden && window.matchMedia('(max-width: 899px)').matches) {
      ui.close.click();
    }
  });

  K.doc = { load, focus, link, current: () => current };
})();
