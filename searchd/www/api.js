/* kbdesk search page: searchd's JSON API as the page sees it (added to
 * window.kbsearch): the GET with the agent token (kept in sessionStorage,
 * this tab only), its errors (ApiError: HTTP status, the API's error code
 * and message) and their wording in the interface language, and the
 * query-string helpers. */
'use strict';

(() => {
  const K = window.kbsearch;
  const { el } = K;
  const TOKEN_KEY = 'kbdesk.agentToken';

  /* The interface's wording for the API's error codes (i18n.js); the
   * server's own message is kept as detail. */
  const ERROR_CODES = ['network', 'bad_offset', 'bad_limit', 'bad_kind', 'bad_lang', 'bad_filter', 'bad_encoding',
    'bad_escape', 'bad_query', 'missing_query', 'query_too_long', 'uri_too_long', 'not_found',
    'index_unavailable', 'overloaded', 'internal'];
  const errorText = (code) => (ERROR_CODES.includes(code) ? kbt('sp.err.' + code) : '');

  /* [strong prefix, wording or message, detail]: the nodes of an error line. */
  function errorNodes(prefix, e) {
    const known = errorText(e.code);
    const nodes = [el('strong', null, prefix), known || e.message];
    if (known && e.detail) nodes.push(el('span', { class: 'err-detail' }, e.detail));
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

  /* GET path; resolves to the parsed JSON body, rejects with an ApiError
   * (or the AbortError of signal). */
  async function api(path, signal) {
    const headers = { Accept: 'application/json' };
    const token = getToken();
    if (token) headers.Authorization = 'Bearer ' + token;
    let r;
    try {
      r = await fetch(path, { headers, signal, cache: 'no-store' });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(kbt('sp.err.network'), 0, 'network');
    }
    let body = null;
    try { body = await r.json(); } catch (e) { if (e.name === 'AbortError') throw e; }
    if (!r.ok) {
      const err = (body && body.error) || {};
      const detail = typeof err.message === 'string' ? err.message : '';
      let msg = detail || kbt('sp.err.http', [r.status]);
      if (r.status === 401 || r.status === 403) msg += kbt('sp.err.check_token');
      throw new ApiError(msg, r.status, typeof err.code === 'string' ? err.code : '', detail);
    }
    if (body === null) throw new ApiError(kbt('sp.err.bad_json'), r.status, 'bad_json');
    return body;
  }

  const qs = (o) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(o)) if (v !== '' && v !== null && v !== undefined) p.set(k, String(v));
    return p.toString();
  };
  /* Document ids are ASCII letters, digits, "-_.:"; keep ':' readable in paths. */
  const idPath = (id) => encodeURIComponent(id).replace(/%3A/gi, ':');

  Object.assign(K, { api, ApiError, errorNodes, getToken, setToken, qs, idPath });
})();
