/* chat_card: a knowledge suggestion's card on the chat page: the title
 * (a link to the search page when one is configured), kind, snippet,
 * workaround, details to expand, "read" and the verdict buttons. chat.js
 * calls K.suggestionCard(item, o) for each suggestion, with o: searchdUrl
 * (the search page's address or ''), onRead() (opens the reader), verdict
 * ('yes', 'no' or none), pending, disabled and onVerdict(helpful).
 *
 * Safety: text from the server is always inserted as text (see common.js). */
'use strict';

(() => {
  const K = window.kbdesk;
  const { el } = K;

  K.suggestionCard = function suggestionCard(it, o) {
    const kind = K.KINDS.includes(it.kind) ? it.kind : 'article';
    const title = o.searchdUrl
      ? el('a', { class: 'card-title', href: `${o.searchdUrl}/?doc=${encodeURIComponent(it.id)}`, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'suggestion-title' }, it.title || it.id)
      : el('span', { class: 'card-title', 'data-testid': 'suggestion-title' }, it.title || it.id);
    const li = el('li', { class: `card${o.verdict === 'yes' ? ' helpful' : ''}`, 'data-testid': 'suggestion', 'data-id': it.id, 'data-kind': kind },
      el('div', { class: 'card-head' }, el('span', { class: `badge kind-${kind}`, 'data-testid': 'suggestion-kind' }, K.KIND_LABEL[kind]), title),
      it.snippet ? el('p', { class: 'snippet', 'data-testid': 'suggestion-snippet' }, K.snippetNodes(it.snippet)) : null);
    const wa = typeof it.workaround === 'string' ? it.workaround.trim() : '';
    const first = K.firstLine(wa);
    if (kind === 'known_error' && first) {
      li.append(el('p', { class: 'workaround', 'data-testid': 'suggestion-workaround' }, el('span', { class: 'workaround-label' }, kbt('agent.114')), first));
    }
    const details = [];
    if (it.category) details.push([kbt('agent.123'), String(it.category).split('/').join(' / ')]);
    if (it.service) details.push([kbt('agent.125'), it.service]);
    if (it.status) details.push([kbt('agent.126'), K.KE_STATUS_LABEL[it.status] || it.status]);
    if (it.updated) details.push([kbt('agent.129'), it.updated]);
    const fullWa = K.plainText(wa);
    const more = el('div', { class: 'card-more', 'data-testid': 'suggestion-details', hidden: true, id: `more-${it.id}-${Math.random().toString(36).slice(2, 8)}` },
      fullWa && fullWa !== first ? el('div', null, el('strong', null, kbt('chat.041')), el('div', { class: 'pre-line' }, fullWa)) : null,
      details.length ? el('div', { class: 'muted' }, details.map(([k, v]) => kbt('x.kv', [k, v])).join(kbt('x.kv_sep'))) : null,
      el('div', { class: 'muted' }, kbt('chat.042', [it.id])));
    li.append(more);
    const actions = el('div', { class: 'card-actions' });
    if (!o.searchdUrl) {
      const btn = el('button', { type: 'button', class: 'btn-link', 'aria-expanded': 'false', 'aria-controls': more.id, 'data-testid': 'suggestion-expand' }, kbt('chat.043'));
      btn.addEventListener('click', () => {
        more.hidden = !more.hidden;
        btn.setAttribute('aria-expanded', String(!more.hidden));
        btn.textContent = more.hidden ? kbt('chat.043') : kbt('chat.044');
      });
      actions.append(btn);
    } else {
      actions.append(el('a', { href: `${o.searchdUrl}/?doc=${encodeURIComponent(it.id)}`, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'suggestion-open' }, kbt('chat.045')));
    }
    actions.append(el('button', { type: 'button', class: 'btn-link', 'data-testid': 'suggestion-read', 'aria-haspopup': 'dialog', onclick: o.onRead }, kbt('chat.046')));
    actions.append(el('span', { class: 'sep' }));
    if (o.verdict === 'yes') actions.append(el('span', { class: 'verdict yes', 'data-testid': 'verdict' }, kbt('chat.047')));
    else if (o.verdict === 'no') actions.append(el('span', { class: 'verdict', 'data-testid': 'verdict' }, kbt('chat.048')));
    else if (o.pending) actions.append(el('span', { class: 'verdict' }, kbt('agent.132')));
    if (!o.verdict && o.onVerdict) {
      actions.append(
        el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'helpful-yes', disabled: o.disabled, 'aria-label': kbt('chat.049', [it.title || it.id]), onclick: () => o.onVerdict(true) }, kbt('agent.081')),
        el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'helpful-no', disabled: o.disabled, 'aria-label': kbt('chat.050', [it.title || it.id]), onclick: () => o.onVerdict(false) }, kbt('agent.082')));
    }
    li.append(actions);
    return li;
  };
})();
