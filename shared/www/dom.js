/* kbdesk pages: the DOM helpers the desk's pages (chatdesk/www/common.js)
 * and the search page (searchd/www/render.js) share, as window.kbdom. This
 * file lives in shared/www/; scripts/deps.sh copies it into each daemon's
 * www/shared/, and the pages load it as shared/dom.js before their own
 * scripts.
 *
 * Safety rule: every string from the server is inserted as text
 * (textContent / text nodes); a snippet's only markup, <mark>...</mark>,
 * is rebuilt node by node (snippetNodes), never assigned to innerHTML. */
'use strict';

window.kbdom = (() => {
  const $ = (id) => document.getElementById(id);

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

  /* A snippet is HTML-escaped text whose only markup is <mark>...</mark>:
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

  return { $, el, decodeEntities, snippetNodes, firstLine };
})();
