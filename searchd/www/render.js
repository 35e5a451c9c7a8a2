/* kbdesk search page: the DOM helpers (those of shared/www/dom.js, which
 * the desk's pages share, plus plainClick), the snippet renderer and the
 * Markdown renderer the other scripts share (window.kbsearch, created
 * here; loaded after i18n.js, dom.js and the two vendored libraries,
 * before api.js, docview.js and app.js).
 *
 * Safety rule: every string that comes from the index is inserted as text
 * (textContent / text nodes), with two exceptions, both rebuilt or
 * sanitised before they reach the page and never assigned to innerHTML:
 * - a search snippet, HTML-escaped text whose only markup is
 *   <mark>...</mark>, rebuilt node by node (snippetNodes);
 * - a document body, Markdown rendered by markdown-it with raw HTML off
 *   (a "<script>" in a body is text) and links only http(s), mailto or
 *   relative, then sanitised by DOMPurify (no script, no event handler, no
 *   style, no form) into a DOM fragment (markdown). */
'use strict';

window.kbsearch = (() => {
  const { $, el, snippetNodes, firstLine } = window.kbdom; /* shared/www/dom.js */

  /* A plain left click (a modified click keeps the browser's behaviour:
   * a new tab, a download ...). */
  function plainClick(ev) {
    return ev.button === 0 && !ev.metaKey && !ev.ctrlKey && !ev.shiftKey && !ev.altKey;
  }

  /* ---------- snippets ---------- */

  /* Text with the (case-insensitive) first occurrence of needle in <strong>. */
  function emphasise(text, needle) {
    const i = needle ? text.toLowerCase().indexOf(needle.toLowerCase()) : -1;
    if (i < 0 || !needle) return [text];
    return [text.slice(0, i), el('strong', null, text.slice(i, i + needle.length)), text.slice(i + needle.length)];
  }

  /* ---------- Markdown ---------- */

  /* Only http(s), mailto, or a relative address (no scheme at all). */
  function safeUrl(u) {
    const s = String(u || '').trim().replace(/[\u0000-\u001f\u007f\s]+/g, '');
    const m = /^([a-z][a-z0-9+.-]*):/i.exec(s);
    return !m || /^(https?|mailto)$/i.test(m[1]);
  }

  /* CommonMark, raw HTML off, a line break in a paragraph kept as a line
   * break (the corpus is written that way, and Chinese has no spaces to
   * join lines with). */
  const md = window.markdownit({ html: false, linkify: true, typographer: false, breaks: true });
  md.validateLink = safeUrl;
  /* Headings sit below the document's title (an h2): "#" and "##" become
   * h3, "###" h4, and so on down to h6. A table cell's alignment becomes a
   * class (the page's CSP allows no style attribute). */
  md.core.ruler.push('kbsearch', (st) => {
    for (const t of st.tokens) {
      if (t.type === 'heading_open' || t.type === 'heading_close') {
        t.tag = 'h' + Math.min(6, Math.max(3, Number(t.tag.slice(1)) + 1));
      } else if (t.type === 'th_open' || t.type === 'td_open') {
        const style = t.attrGet('style');
        const m = style && /text-align:\s*(left|center|right)/.exec(style);
        if (t.attrs) t.attrs = t.attrs.filter(([k]) => k !== 'style');
        if (m) t.attrSet('class', 'al-' + m[1]);
      }
    }
  });

  const PURIFY = {
    RETURN_DOM_FRAGMENT: true,
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed', 'svg', 'math'],
    FORBID_ATTR: ['style', 'id', 'name'],
    ALLOWED_URI_REGEXP: /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i,
  };
  window.DOMPurify.addHook('uponSanitizeAttribute', (node, data) => {
    if (['href', 'src', 'xlink:href', 'action', 'formaction', 'srcset'].includes(data.attrName) && !safeUrl(data.attrValue)) {
      data.keepAttr = false;
    }
  });
  window.DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node.tagName === 'A' && node.hasAttribute('href')) node.setAttribute('rel', 'noopener noreferrer nofollow');
  });

  const ID_RE = /\b(?:KB|KE)-\d{3,6}\b/g;

  /* Ids of documents named in the text nodes under root (not inside code,
   * pre or a link) that refs holds become link(id) nodes; other ids stay
   * text. */
  function linkIds(root, refs, link) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (n) => (n.parentElement && n.parentElement.closest('code, pre, a') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    const texts = [];
    for (let n = walker.nextNode(); n; n = walker.nextNode()) texts.push(n);
    for (const n of texts) {
      const s = n.data;
      const parts = [];
      let last = 0;
      for (const m of s.matchAll(ID_RE)) {
        if (!refs.has(m[0])) continue;
        if (m.index > last) parts.push(s.slice(last, m.index));
        parts.push(link(m[0]));
        last = m.index + m[0].length;
      }
      if (!parts.length) continue;
      if (last < s.length) parts.push(s.slice(last));
      n.replaceWith(...parts);
    }
  }

  /* A div.md of the Markdown text rendered and sanitised: tables wrapped in
   * div.table-wrap, code blocks as pre.code, ids in refs (a Set) linked
   * with link(id) (a function returning a node). */
  function markdown(text, refs, link) {
    const box = el('div', { class: 'md' });
    box.append(window.DOMPurify.sanitize(md.render(String(text || '')), PURIFY));
    for (const t of box.querySelectorAll('table')) {
      const wrap = el('div', { class: 'table-wrap' });
      t.replaceWith(wrap);
      wrap.append(t);
      for (const th of t.querySelectorAll('thead th')) th.setAttribute('scope', 'col');
    }
    for (const pre of box.querySelectorAll('pre')) pre.classList.add('code');
    if (refs && refs.size && link) linkIds(box, refs, link);
    return box;
  }

  return { $, el, plainClick, snippetNodes, emphasise, firstLine, markdown, safeUrl };
})();
