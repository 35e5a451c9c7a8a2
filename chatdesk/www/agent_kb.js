/* agent_kb: the knowledge panel of the agent page's open ticket: the
 * suggestions the requester was shown (and the ones they opened), a
 * search of the knowledge base (debounced; only the latest answer is
 * shown), each card's whole document fetched on demand (the `doc`
 * request) and its link button. agent.js makes it once with
 * K.agentKb({ui, send, rid, parseId, getCur, isLinked, linkButton,
 * linkNote, DOC_ID_RE}) (getCur() -> the open ticket's state or null) and
 * hands it the answers (onDoc, onSearchResults, docError).
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;

  K.agentKb = function agentKb({ ui, send, rid, parseId, getCur, isLinked, linkButton, linkNote, DOC_ID_RE }) {
    function renderKb() {
      const cur = getCur();
      if (!cur) return;
      const focused = ui.kbResults.contains(document.activeElement) ? document.activeElement : null;
      const focusKey = focused && focused.closest('li') ? [focused.closest('li').dataset.id, focused.dataset.testid] : null;
      const raw = ui.kbQ.value.trim();
      const sr = raw ? cur.search : null;
      let list;
      if (sr) {
        list = sr.items;
        if (sr.error) ui.kbNote.textContent = kbt('agent.104', [sr.error]);
        else if (sr.pending) ui.kbNote.textContent = kbt('agent.105');
        else if (!list.length) ui.kbNote.textContent = kbt('agent.106');
        else ui.kbNote.textContent = kbt('agent.108', [sr.total, sr.total > list.length ? kbt('agent.107', [list.length]) : '']);
      } else {
        list = [...cur.suggestions];
        for (const s of cur.seen) if (!list.some((x) => x.id === s.id)) list.push({ ...s, seenOnly: true });
        if (!list.length) ui.kbNote.textContent = cur.loaded ? kbt('agent.109') : '';
        else ui.kbNote.textContent = kbt('agent.110', [list.length]);
      }
      const items = list.map((s) => kbCard(s, !!sr));
      if (raw && DOC_ID_RE.test(raw) && !list.some((s) => s.id.toLowerCase() === raw.toLowerCase())) {
        items.push(el('li', { class: 'card', 'data-testid': 'kb-id-item', 'data-id': raw },
          el('div', { class: 'card-head' }, el('span', { class: 'card-title' }, kbt('agent.111', [raw]))),
          el('div', { class: 'card-actions' }, el('span', { class: 'verdict' }, kbt('agent.112')), el('span', { class: 'sep' }), linkButton(raw, raw)),
          linkNote(raw)));
      }
      ui.kbResults.replaceChildren(...items);
      ui.kbResults.setAttribute('aria-busy', sr && sr.pending ? 'true' : 'false');
      if (focusKey) {
        const li = [...ui.kbResults.children].find((x) => x.dataset.id === focusKey[0]);
        const f = li && li.querySelector(`[data-testid="${focusKey[1]}"]`);
        if (f && !f.disabled) f.focus();
      }
    }

    function kbCard(s, fromSearch) {
      const cur = getCur();
      const kind = K.KINDS.includes(s.kind) ? s.kind : 'article';
      const li = el('li', {
        class: `card${isLinked(s.id) ? ' linked' : ''}`, 'data-testid': 'kb-item', 'data-id': s.id, 'data-kind': kind,
        'data-source': fromSearch ? 'search' : 'suggested',
      },
      el('div', { class: 'card-head' },
        el('span', { class: `badge kind-${kind}` }, K.KIND_LABEL[kind]),
        s.visibility === 'internal' ? el('span', { class: 'badge internal', 'data-testid': 'kb-internal' }, kbt('agent.113')) : null,
        el('span', { class: 'card-title', 'data-testid': 'kb-title' }, s.title || s.id)),
      kind === 'standard' && (s.standard || s.path) ? el('p', { class: 'muted doc-meta' }, [s.standard, s.path].filter(Boolean).join(' · ')) : null,
      s.snippet ? el('p', { class: 'snippet', 'data-testid': 'kb-snippet' }, K.snippetNodes(s.snippet)) : null);
      const first = K.firstLine(s.workaround);
      if (first) li.append(el('p', { class: 'workaround' }, el('span', { class: 'workaround-label' }, kbt('agent.114')), first));
      const open = cur.expanded.has(s.id);
      const fullId = `kb-doc-${s.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      const expand = el('button', {
        type: 'button', class: 'btn-link', 'data-testid': 'kb-expand', 'aria-expanded': String(open), 'aria-controls': fullId,
        onclick: () => toggleDoc(s.id),
      }, open ? kbt('agent.115') : kbt('agent.116'));
      li.append(
        el('div', { class: 'card-actions' },
          el('span', { class: 'card-id' }, s.id),
          expand,
          s.seenOnly || cur.seen.some((x) => x.id === s.id) ? el('span', { class: 'verdict' }, kbt('agent.117')) : null,
          el('span', { class: 'sep' }), linkButton(s.id, s.title)),
        linkNote(s.id) || '',
        open ? docView(s.id, fullId) : '');
      return li;
    }

    /* The full documents fetched: id -> {pending} | {doc} | {error}. */
    const docs = new Map();

    function toggleDoc(id) {
      const cur = getCur();
      if (!cur) return;
      if (cur.expanded.has(id)) {
        cur.expanded.delete(id);
      } else {
        cur.expanded.add(id);
        const d = docs.get(id);
        if (!d || d.error) {
          if (send({ type: 'doc', id: rid('doc', id), item: id })) docs.set(id, { pending: true });
          else docs.set(id, { error: kbt('agent.055') });
        }
      }
      renderKb();
    }

    const DOC_SECTIONS = [['symptom', kbt('agent.118')], ['cause', kbt('agent.119')], ['workaround', kbt('agent.114')], ['resolution', kbt('agent.120')], ['body', '']];

    function docView(id, domId) {
      const d = docs.get(id);
      if (!d || d.pending) return el('div', { class: 'doc-full', id: domId, 'data-testid': 'kb-doc', 'aria-busy': 'true' }, kbt('agent.121'));
      if (d.error) return el('div', { class: 'doc-full inline-msg err', id: domId, role: 'alert', 'data-testid': 'kb-doc-error' }, kbt('agent.122', [d.error]));
      const doc = d.doc;
      const meta = [];
      if (doc.category) meta.push([kbt('agent.123'), String(doc.category).split('/').join(' / ')]);
      if (doc.product) meta.push([kbt('agent.124'), doc.product]);
      if (doc.service) meta.push([kbt('agent.125'), doc.service]);
      if (doc.status) meta.push([kbt('agent.126'), K.KE_STATUS_LABEL[doc.status] || doc.status]);
      if (doc.standard || doc.std_title) meta.push([kbt('agent.127'), doc.standard || doc.std_title]);
      if (doc.path) meta.push([kbt('agent.128'), doc.path]);
      if (doc.updated) meta.push([kbt('agent.129'), doc.updated]);
      const sections = DOC_SECTIONS.filter(([k]) => typeof doc[k] === 'string' && doc[k].trim())
        .map(([k, h]) => el('section', { class: 'doc-sec' }, h ? el('h4', null, h) : null,
          el('div', { class: 'doc-text', 'data-testid': 'kb-doc-text' }, K.plainText(doc[k]))));
      return el('div', { class: 'doc-full', id: domId, 'data-testid': 'kb-doc', 'data-id': doc.id || id },
        meta.length ? el('p', { class: 'muted doc-meta' }, meta.map(([k, v]) => kbt('x.kv', [k, v])).join(kbt('x.kv_sep'))) : null,
        sections.length ? sections : el('p', { class: 'muted' }, kbt('agent.130')));
    }

    function onDoc(f) {
      const [, key] = parseId(typeof f.id === 'string' ? f.id : '');
      const doc = f.doc;
      if (!doc || typeof doc !== 'object') return;
      docs.set(key || doc.id, { doc });
      if (doc.id && doc.id !== key) docs.set(doc.id, { doc });
      renderKb();
    }

    const SEARCH_DELAY_MS = 350;
    const SEARCH_LIMIT = 20;
    let searchTimer = 0;

    /* Searches the knowledge base for the box's text (unless that search is
     * already shown or under way, or force). */
    function runSearch(force) {
      const cur = getCur();
      clearTimeout(searchTimer);
      if (!cur) return;
      const q = ui.kbQ.value.trim();
      if (!q) { cur.search = null; renderKb(); return; }
      if (!force && cur.search && cur.search.q === q && !cur.search.error) return;
      const id = rid('search', cur.number);
      const prev = cur.search ? cur.search.items : [];
      cur.search = { q, id, pending: true, items: prev, total: prev.length, error: '' };
      if (!send({ type: 'search', id, q, limit: SEARCH_LIMIT })) {
        cur.search = { q, id, pending: false, items: [], total: 0, error: kbt('agent.055') };
      }
      renderKb();
    }

    function onSearchResults(f) {
      const cur = getCur();
      if (!cur || !cur.search || f.id !== cur.search.id) return; /* an older search */
      cur.search.pending = false;
      cur.search.items = Array.isArray(f.items) ? f.items.filter((i) => i && typeof i.id === 'string') : [];
      cur.search.total = Number.isInteger(f.total) ? f.total : cur.search.items.length;
      renderKb();
    }

    ui.kbQ.addEventListener('input', () => {
      const cur = getCur();
      clearTimeout(searchTimer);
      if (!ui.kbQ.value.trim()) { if (cur) cur.search = null; renderKb(); return; }
      searchTimer = setTimeout(() => runSearch(false), SEARCH_DELAY_MS);
    });
    ui.kbForm.addEventListener('submit', (ev) => { ev.preventDefault(); runSearch(true); });

    return {
      render: renderKb, onDoc, runSearch, onSearchResults,
      /* an error frame answering a doc request */
      docError: (key, text) => { docs.set(key, { error: text }); renderKb(); },
      stopSearch: () => clearTimeout(searchTimer),
    };
  };
})();
