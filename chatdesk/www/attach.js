/* kbdesk attachments in the pages (README "Attachments"): uploads a file
 * (POST /api/v1/attachments, the file as the body, its name in X-Filename)
 * and shows attachments: images as thumbnails (the browser scales the
 * image itself with CSS max sizes; there is no server-side thumbnail),
 * other files as links that download them. The bytes are fetched with the
 * session's bearer token (an <img src> could not send it) and shown through
 * a data: URL, which the pages' Content-Security-Policy allows for images.
 * Its text comes from the i18n tables (keys attach.*, chatdesk/www/i18n_zh.js, i18n_en.js).
 * Exposed as window.kbdesk.attach. */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;

  /* The page's words for an upload refused with code (HTTP status): the
   * attachment codes here, the common ones through K.errorText, and the
   * server's own message after them (it names the reason, e.g. the type
   * found in the file). */
  const UPLOAD_ERROR = {
    type_not_allowed: 'attach.004', too_large: 'attach.005', empty: 'attach.006', attachments_off: 'attach.007',
  };
  function uploadError(status, err) {
    const code = err && typeof err.code === 'string' ? err.code : '';
    const msg = err && typeof err.message === 'string' ? err.message : '';
    const text = UPLOAD_ERROR[code] ? kbt(UPLOAD_ERROR[code]) : code ? K.errorText(err) : kbt('attach.003', [status]);
    const e = new Error(msg && msg !== text ? `${text} (${msg})` : text);
    e.code = code;
    return e;
  }

  /* Uploads file with token. Resolves to the attachment's description, or
   * rejects with an Error whose message is the page's words for the refusal
   * (uploadError). */
  async function upload(token, file) {
    const r = await fetch('/api/v1/attachments', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': file.type || 'application/octet-stream',
        'x-filename': encodeURIComponent(file.name || 'file') },
      body: file,
    });
    let body = null;
    try { body = await r.json(); } catch { body = null; }
    if (r.status !== 201) throw uploadError(r.status, body?.error);
    return body;
  }

  function dataUrl(blob) {
    return new Promise((resolve, reject) => {
      const fr = new FileReader();
      fr.onload = () => resolve(fr.result);
      fr.onerror = () => reject(fr.error);
      fr.readAsDataURL(blob);
    });
  }

  async function fetchBlob(token, a) {
    const r = await fetch(a.url, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    return r.blob();
  }

  function size(n) {
    return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} B`;
  }

  /* One attachment's node: a thumbnail (images) or a download link. */
  function node(token, a) {
    if (!a || typeof a.url !== 'string' || !/^\/api\/v1\/attachments\/\d+$/.test(a.url)) return null;
    const name = String(a.name || 'file');
    if (a.image) {
      const img = el('img', { class: 'att-thumb', alt: name, title: name, 'data-testid': 'attachment-thumb', 'data-id': String(a.id) });
      fetchBlob(token, a).then(dataUrl).then((u) => { img.src = u; img.dataset.loaded = '1'; })
        .catch(() => { img.alt = kbt('attach.008', [name]); });
      /* a click shows it at full width, another one as a thumbnail again */
      const open = el('a', { href: '#', class: 'att att-image', 'data-testid': 'attachment', title: name }, img);
      open.addEventListener('click', (ev) => { ev.preventDefault(); img.classList.toggle('att-full'); });
      return open;
    }
    const link = el('a', { href: '#', class: 'att att-file', 'data-testid': 'attachment', 'data-id': String(a.id) },
      kbt('attach.009', [name]), el('span', { class: 'muted' }, ` (${size(Number(a.size) || 0)})`));
    link.addEventListener('click', async (ev) => {
      ev.preventDefault();
      try {
        const u = URL.createObjectURL(await fetchBlob(token, a));
        const d = el('a', { href: u, download: name });
        document.body.append(d);
        d.click();
        d.remove();
        setTimeout(() => URL.revokeObjectURL(u), 60000);
      } catch (e) { link.title = kbt('attach.010', [e.message]); }
    });
    return link;
  }

  /* A row of nodes for list (may be empty or not an array: null). */
  function row(token, list) {
    if (!Array.isArray(list) || list.length === 0) return null;
    const div = el('div', { class: 'atts', 'data-testid': 'attachments' });
    for (const a of list) { const n = node(token, a); if (n) div.append(n); }
    return div;
  }

  K.attach = { upload, node, row };
})();
