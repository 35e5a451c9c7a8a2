/* chat_verdict: the requester's two answers at the end of a ticket on the
 * chat page: the resolution to confirm ("did this solve it?": `confirm`)
 * and the rating (1 to 5 stars and a comment: `rate`). chat.js makes one
 * with K.chatVerdict({send, refresh, save}) (send(frame) -> false when it
 * could not be sent; refresh(entry) redraws a log entry; save() keeps the
 * page state) and draws the log entries with verdict.resolution(entry) and
 * verdict.rating(entry), each an <li>; the entry keeps the pending answer
 * and any error, so a reload shows the same.
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;

  K.chatVerdict = function chatVerdict({ send, refresh, save }) {
    function renderResolution(e) {
      const li = el('li', { class: 'panel resolution', 'data-testid': 'resolution', 'data-ticket': e.ticket },
        el('h2', null, kbt('chat.060', [e.ticket])),
        el('p', { class: 'res-text', 'data-testid': 'resolution-text' }, e.resolution || kbt('chat.061')));
      if (e.answer === 'accepted') {
        li.append(el('p', { class: 'verdict yes', 'data-testid': 'confirm-result' }, kbt('chat.062')));
      } else if (e.answer === 'rejected') {
        li.append(el('p', { class: 'verdict', 'data-testid': 'confirm-result' }, kbt('chat.063')));
      } else if (e.answer === 'stale') {
        li.append(el('p', { class: 'verdict', 'data-testid': 'confirm-result' }, kbt('chat.064')));
      } else {
        const answer = (accepted) => {
          e.pending = true;
          delete e.err;
          e.pendingAnswer = accepted ? 'accepted' : 'rejected';
          refresh(e);
          if (!send({ type: 'confirm', id: `cf:${e.k}`, ticket: e.ticket, accepted })) {
            delete e.pending;
            e.err = kbt('chat.039');
            refresh(e);
          }
          save();
        };
        li.append(el('p', null, kbt('chat.065')),
          el('div', { class: 'row' },
            el('button', { type: 'button', class: 'btn-primary', 'data-testid': 'confirm-yes', disabled: !!e.pending, onclick: () => answer(true) }, kbt('chat.066')),
            el('button', { type: 'button', class: 'btn', 'data-testid': 'confirm-no', disabled: !!e.pending, onclick: () => answer(false) }, kbt('chat.067'))));
      }
      if (e.err) li.append(el('p', { class: 'inline-msg err', role: 'alert' }, e.err));
      return li;
    }

    const STAR_TEXT = { 1: kbt('chat.068'), 2: kbt('chat.069'), 3: kbt('chat.070'), 4: kbt('chat.071'), 5: kbt('chat.072') };

    function renderRating(e) {
      if (e.score) {
        return el('li', { class: 'panel rating', 'data-testid': 'rating', 'data-done': 'true' },
          el('p', { class: 'verdict yes', 'data-testid': 'rating-done' }, kbt('chat.073', ['★'.repeat(e.score), '☆'.repeat(5 - e.score), STAR_TEXT[e.score] || e.score])));
      }
      const name = `score-${e.k}`;
      const stars = el('fieldset', { class: 'stars' }, el('legend', null, kbt('chat.074', [e.ticket])));
      const glyphs = [];
      const label = el('span', { class: 'star-text', 'aria-hidden': 'true' });
      const paint = (n) => {
        glyphs.forEach((g, i) => g.classList.toggle('lit', i < n));
        label.textContent = STAR_TEXT[n] || '';
      };
      for (let n = 1; n <= 5; n++) {
        const input = el('input', { type: 'radio', name, value: n, 'data-testid': `star-${n}`, checked: e.draft === n });
        const glyph = el('span', { class: 'star-glyph', 'aria-hidden': 'true' }, '★');
        glyphs.push(glyph);
        input.addEventListener('change', () => { e.draft = n; paint(n); });
        const lab = el('label', { class: 'star' }, input, glyph, el('span', { class: 'visually-hidden' }, kbt('chat.075', [n, STAR_TEXT[n]])));
        lab.addEventListener('mouseenter', () => paint(n));
        lab.addEventListener('mouseleave', () => paint(e.draft || 0));
        stars.append(lab);
      }
      stars.append(label);
      const comment = el('textarea', { rows: 2, maxlength: 2000, id: `comment-${e.k}`, 'data-testid': 'rating-comment' });
      comment.value = e.comment || '';
      comment.addEventListener('input', () => { e.comment = comment.value; });
      const err = el('p', { class: 'inline-msg err', role: 'alert', hidden: !e.err }, e.err || '');
      const form = el('form', { novalidate: true },
        stars,
        el('label', { class: 'fld', for: comment.id }, el('span', null, kbt('chat.076')), comment),
        el('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'rate-submit', disabled: !!e.pending }, e.pending ? kbt('agent.132') : kbt('chat.077')),
        err);
      form.addEventListener('submit', (ev) => {
        ev.preventDefault();
        if (!e.draft) { err.textContent = kbt('chat.078'); err.hidden = false; return; }
        e.pending = true;
        e.pendingScore = e.draft;
        delete e.err;
        const f = { type: 'rate', id: `rate:${e.k}`, ticket: e.ticket, score: e.draft };
        const c = (e.comment || '').trim();
        if (c) f.comment = c;
        if (!send(f)) { delete e.pending; e.err = kbt('chat.039'); }
        refresh(e);
        save();
      });
      paint(e.draft || 0);
      return el('li', { class: 'panel rating', 'data-testid': 'rating' }, form);
    }

    return { resolution: renderResolution, rating: renderRating };
  };
})();
