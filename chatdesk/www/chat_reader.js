/* chat_reader: the whole document of a suggestion, read inside the chat
 * page: a modal <dialog> filled by the `doc` request, with the reader's
 * feedback (helpful / not helpful / out of date, an optional comment:
 * `kb_feedback`). chat.js makes one with K.chatReader(send) and hands it
 * the answers: reader.onDoc(frame), reader.onFeedbackAck(frame),
 * reader.error(id, frame) (true when the error was the reader's);
 * reader.open(item) opens it on a suggestion item.
 *
 * Safety: text from the server is always inserted as text (see common.js);
 * the document's Markdown is shown as headings, code, lists and paragraphs
 * of plain text. */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;

  /* send(frame) -> false when the frame could not be sent */
  K.chatReader = function chatReader(send) {

    const VERDICTS = [['helpful', kbt('agent.081'), 'reader-helpful'], ['not_helpful', kbt('agent.082'), 'reader-not-helpful'], ['out_of_date', kbt('chat.051'), 'reader-out-of-date']];
    const VERDICT_DONE = { helpful: kbt('agent.081'), not_helpful: kbt('agent.082'), out_of_date: kbt('chat.051') };
    const COMMENT_MAX = 2000;
    /* the reader's state: the item, the doc request and the feedback sent */
    const reader = { dialog: null, it: null, docId: '', doc: null, error: '', fbId: '', verdict: '', sent: '', fbError: '', comment: '' };

    function openReader(it) {
      Object.assign(reader, { it, doc: null, error: '', fbId: '', verdict: '', sent: '', fbError: '', comment: '' });
      reader.docId = `doc:${K.clientId()}`;
      if (!send({ type: 'doc', id: reader.docId, item: it.id })) reader.error = kbt('chat.039');
      if (!reader.dialog) {
        reader.dialog = el('dialog', { class: 'reader', 'data-testid': 'reader', 'aria-labelledby': 'reader-title' });
        reader.dialog.addEventListener('close', () => { reader.docId = ''; });
        document.body.append(reader.dialog);
      }
      renderReader();
      if (!reader.dialog.open) reader.dialog.showModal();
    }

    function onReaderDoc(f) {
      if (!reader.docId || f.id !== reader.docId || !f.doc || typeof f.doc !== 'object') return;
      reader.doc = f.doc;
      renderReader();
    }

    function onReaderFeedbackAck(f) {
      if (!reader.fbId || f.id !== reader.fbId) return;
      reader.sent = f.verdict;
      reader.fbId = '';
      renderReader();
    }

    /* An error frame answering the reader's doc or kb_feedback: shown in it. */
    function readerError(id, f) {
      if (!id || (id !== reader.docId && id !== reader.fbId)) return false;
      if (id === reader.docId) reader.error = K.errorText(f);
      else { reader.fbError = K.errorText(f); reader.fbId = ''; reader.verdict = ''; }
      renderReader();
      return true;
    }

    function sendReaderFeedback(verdict) {
      const area = reader.dialog.querySelector('[data-testid=reader-comment]');
      reader.comment = area ? area.value : '';
      if (Array.from(reader.comment).length > COMMENT_MAX) {
        reader.fbError = kbt('chat.052', [COMMENT_MAX]);
        renderReader();
        return;
      }
      reader.fbError = '';
      reader.verdict = verdict;
      reader.fbId = `kbfb:${K.clientId()}`;
      const f = { type: 'kb_feedback', id: reader.fbId, item: reader.it.id, verdict };
      if (reader.comment.trim()) f.comment = reader.comment;
      if (!send(f)) { reader.fbId = ''; reader.verdict = ''; reader.fbError = kbt('chat.039'); }
      renderReader();
    }

    /* Markdown-ish text as elements, every piece of it as text: headings,
     * fenced code, list items and paragraphs; emphasis and backticks dropped. */
    function mdNodes(text) {
      const out = [];
      let para = [], list = null, code = null;
      const inline = (l) => l.replace(/\*\*|`/g, '');
      const flush = () => {
        if (para.length) out.push(el('p', null, inline(para.join('\n'))));
        para = [];
        list = null;
      };
      for (const raw of String(text || '').replace(/\r\n?/g, '\n').split('\n')) {
        if (code) {
          if (/^\s*(`{3,}|~{3,})/.test(raw)) { out.push(el('pre', null, code.join('\n'))); code = null; } else code.push(raw);
          continue;
        }
        if (/^\s*(`{3,}|~{3,})/.test(raw)) { flush(); code = []; continue; }
        const l = raw.trim();
        if (!l) { flush(); continue; }
        const h = /^(#{1,6})\s+(.*)$/.exec(l);
        if (h) { flush(); out.push(el('h4', null, inline(h[2]))); continue; }
        const li = /^([-*+]|\d{1,3}[.)])\s+(.*)$/.exec(l);
        if (li) {
          const ordered = /\d/.test(li[1]);
          if (para.length) { out.push(el('p', null, inline(para.join('\n')))); para = []; }
          if (!list || (list.tagName === 'OL') !== ordered) { list = el(ordered ? 'ol' : 'ul'); out.push(list); }
          list.append(el('li', null, inline(li[2])));
          continue;
        }
        if (list && /^\s/.test(raw)) { list.lastChild.append('\n' + inline(l)); continue; }
        list = null;
        para.push(l);
      }
      if (code) out.push(el('pre', null, code.join('\n')));
      flush();
      return out;
    }

    const READER_SECTIONS = [['symptom', kbt('agent.118')], ['cause', kbt('agent.119')], ['workaround', kbt('chat.053')], ['resolution', kbt('agent.120')], ['body', '']];

    function renderReader() {
      const d = reader.dialog;
      if (!d) return;
      const it = reader.it;
      const doc = reader.doc;
      const kind = K.KINDS.includes((doc && doc.kind) || it.kind) ? ((doc && doc.kind) || it.kind) : 'article';
      let main;
      if (reader.error) main = el('p', { class: 'inline-msg err', role: 'alert', 'data-testid': 'reader-error' }, kbt('chat.054', [reader.error]));
      else if (!doc) main = el('p', { class: 'muted', 'aria-busy': 'true' }, kbt('agent.121'));
      else {
        const meta = [];
        if (doc.category) meta.push([kbt('agent.123'), String(doc.category).split('/').join(' / ')]);
        if (doc.product) meta.push([kbt('agent.124'), doc.product]);
        if (doc.service) meta.push([kbt('agent.125'), doc.service]);
        if (doc.status) meta.push([kbt('agent.126'), K.KE_STATUS_LABEL[doc.status] || doc.status]);
        if (doc.updated) meta.push([kbt('agent.129'), doc.updated]);
        const secs = READER_SECTIONS.filter(([k]) => typeof doc[k] === 'string' && doc[k].trim())
          .map(([k, h]) => el('section', { class: `reader-sec reader-${k}`, 'data-testid': `reader-${k}` },
            h ? el('h3', null, h) : null, mdNodes(doc[k])));
        main = el('div', { class: 'reader-doc', 'data-testid': 'reader-doc', 'data-id': doc.id || it.id },
          meta.length ? el('p', { class: 'muted' }, meta.map(([k, v]) => kbt('x.kv', [k, v])).join(kbt('x.kv_sep'))) : null,
          secs.length ? secs : el('p', { class: 'muted' }, kbt('agent.130')));
      }
      let fb;
      if (reader.sent) {
        fb = el('p', { class: 'verdict yes', role: 'status', 'data-testid': 'reader-feedback-done' }, kbt('chat.055', [VERDICT_DONE[reader.sent] || reader.sent]));
      } else {
        const area = el('textarea', { id: 'reader-comment', rows: 3, maxlength: COMMENT_MAX, 'data-testid': 'reader-comment', placeholder: kbt('chat.056'), disabled: !!reader.fbId, oninput: (e) => { reader.comment = e.target.value; } });
        area.value = reader.comment;
        fb = el('div', { class: 'reader-fb' },
          el('label', { for: 'reader-comment' }, kbt('chat.057')),
          area,
          el('div', { class: 'card-actions' }, VERDICTS.map(([v, label, testid]) => el('button', {
            type: 'button', class: 'btn btn-sm', 'data-testid': testid, disabled: !doc || !!reader.fbId,
            'aria-pressed': String(reader.verdict === v), onclick: () => sendReaderFeedback(v),
          }, label)), reader.fbId ? el('span', { class: 'verdict' }, kbt('agent.132')) : null),
          reader.fbError ? el('p', { class: 'inline-msg err', role: 'alert', 'data-testid': 'reader-feedback-error' }, reader.fbError) : null);
      }
      K.fill(d,
        el('div', { class: 'reader-head' },
          el('span', { class: `badge kind-${kind}` }, K.KIND_LABEL[kind]),
          el('h2', { id: 'reader-title', 'data-testid': 'reader-title' }, (doc && doc.title) || it.title || it.id),
          el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'reader-close', onclick: () => d.close() }, kbt('chat.058'))),
        el('div', { class: 'reader-main' }, main),
        fb,
        el('p', { class: 'muted' }, kbt('chat.059')));
    }

    return { open: openReader, onDoc: onReaderDoc, onFeedbackAck: onReaderFeedbackAck, error: readerError };
  };
})();
