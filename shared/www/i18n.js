/* kbdesk pages in Chinese and English: the language choice, the lookup
 * and the 中文 / English switch that the desk's pages (chatdesk/www) and
 * the search page (searchd/www) share. This file lives in shared/www/;
 * scripts/deps.sh copies it into each daemon's www/shared/, so each daemon
 * serves it from its own origin as /shared/i18n.js (the pages' CSP,
 * script-src 'self', allows nothing else).
 *
 * The message catalogue is the page's own: i18n_zh.js and i18n_en.js next
 * to the page set window.kbdeskStrings.zh and .en (one table per language,
 * a key per string), and the page loads them before this file. The
 * language is the one saved in localStorage ("kbdesk.lang": "zh" or "en",
 * one key for both daemons' pages) when there is one, else the browser's
 * first preferred language (navigator.languages: zh* gives Chinese,
 * anything else English). This file is loaded before the page's other
 * scripts (all are deferred, so they run in order once the document is
 * parsed): it translates the static HTML at once (data-i18n: the element's
 * text; data-i18n-placeholder, -aria-label, -title: those attributes),
 * sets <html lang>, and adds a 中文 / English switch to the page header.
 * Scripts build their text with kbt(key, [args]): "{0}", "{1}" ... in a
 * string are replaced by args. A key missing in English falls back to
 * Chinese, an unknown key shows the key. Switching saves the choice and
 * reloads the page, so that every table and label built at load time is
 * rebuilt in the new language (the pages restore their state on reload).
 * Documents, snippets and search results stay in the language they are
 * written in. */
'use strict';

(() => {
  const loaded = window.kbdeskStrings || {};
  const TABLES = { zh: loaded.zh || {}, en: loaded.en || {} };
  const KEY = 'kbdesk.lang';

  function saved() {
    try {
      const v = window.localStorage.getItem(KEY);
      return v === 'zh' || v === 'en' ? v : null;
    } catch { return null; }
  }

  function fromBrowser() {
    const list = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || 'zh'];
    return /^zh\b/i.test(String(list[0] || '')) ? 'zh' : 'en';
  }

  let lang = saved() || fromBrowser();

  /* The text of key in the current language, "{n}" replaced by args[n]
   * (null / undefined: nothing). */
  function kbt(key, args) {
    let s = TABLES[lang][key];
    if (s === undefined) s = TABLES.zh[key];
    if (s === undefined) return key;
    if (args) s = s.replace(/\{(\d)\}/g, (m, i) => (args[i] === undefined || args[i] === null ? '' : String(args[i])));
    return s;
  }

  /* Translates the static text under root. */
  function apply(root) {
    for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = kbt(e.dataset.i18n);
    for (const a of ['placeholder', 'aria-label', 'title']) {
      for (const e of root.querySelectorAll(`[data-i18n-${a}]`)) e.setAttribute(a, kbt(e.getAttribute(`data-i18n-${a}`)));
    }
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  }

  /* Saves the choice and reloads; without storage the static text is
   * switched in place (and the choice lasts until the page is left). */
  function setLang(code) {
    if (code !== 'zh' && code !== 'en') return;
    let stored = false;
    try { window.localStorage.setItem(KEY, code); stored = window.localStorage.getItem(KEY) === code; } catch { /* disabled */ }
    if (code === lang) return;
    if (stored) { window.location.reload(); return; }
    lang = code;
    apply(document);
    for (const b of document.querySelectorAll('.lang-switch button')) b.setAttribute('aria-pressed', String(b.dataset.lang === lang));
  }

  function addSwitch() {
    const box = document.querySelector('header .top-right');
    if (!box || box.querySelector('.lang-switch')) return;
    const wrap = document.createElement('span');
    wrap.className = 'lang-switch';
    wrap.setAttribute('role', 'group');
    wrap.setAttribute('aria-label', kbt('i18n.switch'));
    wrap.setAttribute('data-testid', 'lang-switch');
    for (const [code, label, tag] of [['zh', '中文', 'zh-CN'], ['en', 'English', 'en']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'btn-link';
      b.lang = tag;
      b.dataset.lang = code;
      b.textContent = label;
      b.setAttribute('data-testid', `lang-${code}`);
      b.setAttribute('aria-pressed', String(code === lang));
      b.addEventListener('click', () => setLang(code));
      wrap.append(b);
    }
    box.prepend(wrap);
  }

  window.kbt = kbt;
  window.kbdeskI18n = { get lang() { return lang; }, t: kbt, apply, setLang };
  apply(document);
  addSwitch();
})();
