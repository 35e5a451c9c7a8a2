/* The problem-management page (problems.html): problem records over the
 * JSON API (/api/v1/problems) with the agent's session token, which the
 * agent page keeps in sessionStorage (the same tab: open this page from
 * there). A list with a status filter and keyset paging, a new-problem
 * form, and a problem's view: its fields (one save, one "edited" event),
 * the lifecycle steps its status allows, the known-error draft, linked
 * incidents (link and unlink) and its history. Text from the server is
 * always set as text, never as HTML. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const SESSION_KEY = 'kbdesk.agent.session';
  const STATUS = { new: '新建', investigating: '调查中', known_error: '已知错误', resolved: '已解决', closed: '已关闭' };
  const STEPS = {
    new: [['investigating', '开始调查'], ['resolved', '标记为已解决']],
    investigating: [['known_error', '标记为已知错误'], ['resolved', '标记为已解决']],
    known_error: [['resolved', '标记为已解决']],
    resolved: [['closed', '关闭'], ['reopened', '重新打开']],
    closed: [],
  };
  const EVENT = {
    created: '创建', edited: '编辑', investigating: '开始调查', known_error: '标记为已知错误', resolved: '已解决',
    closed: '关闭', reopened: '重新打开', linked: '关联工单', unlinked: '取消关联', known_error_drafted: '生成已知错误草稿',
  };
  const token = K.session.get(SESSION_KEY, null);
  let current = null;   // the problem shown
  let after = null;     // the list's next page

  async function api(method, path, json) {
    const r = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
      body: json ? JSON.stringify(json) : undefined,
    });
    const body = await r.json().catch(() => null);
    if (!r.ok) {
      const e = new Error(body && body.error ? body.error.message : `HTTP ${r.status}`);
      e.status = r.status;
      throw e;
    }
    return body;
  }

  function showError(e) {
    const p = $('page-error');
    p.textContent = e.status === 401 ? '登录已失效，请回到坐席工作台重新登录。' : `操作失败：${e.message}`;
    p.hidden = false;
  }

  function say(text) {
    $('p-msg').textContent = text;
  }

  /* ---------- the list ---------- */

  function item(p) {
    return el('li', { class: 'qi', 'data-testid': 'problem-item', 'data-number': p.number },
      el('div', { class: 'qi-head' },
        el('button', { type: 'button', class: 'btn-link qi-no', onclick: () => open(p.number) }, p.number),
        el('span', { class: 'badge' }, STATUS[p.status] || p.status)),
      el('p', { class: 'qi-sum' }, p.summary),
      el('p', { class: 'qi-meta muted' }, `${p.incidents} 个工单（未解决 ${p.open_incidents}）· ${p.service || '未指定服务'}`));
  }

  async function load(more) {
    const status = $('status-filter').value;
    const q = new URLSearchParams({ limit: '50' });
    if (status) q.set('status', status);
    if (more && after) q.set('after', String(after));
    try {
      const r = await api('GET', `/api/v1/problems?${q}`);
      if (!more) $('list').replaceChildren();
      for (const p of r.items) $('list').append(item(p));
      after = r.next_after || null;
      $('more').hidden = !after;
    } catch (e) { showError(e); }
  }

  /* ---------- one problem ---------- */

  function fill(p) {
    current = p;
    $('detail').hidden = false;
    $('p-number').textContent = `${p.number} ${p.summary}`;
    $('p-status').textContent = STATUS[p.status] || p.status;
    $('p-status').dataset.status = p.status;
    $('f-summary').value = p.summary;
    $('f-service').value = p.service || '';
    $('f-impact').value = String(p.impact);
    $('f-description').value = p.description;
    $('f-root').value = p.root_cause;
    $('f-workaround').value = p.workaround;
    $('f-fix').value = p.fix;
    $('steps').replaceChildren(...(STEPS[p.status] || []).map(([ev, label]) =>
      el('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `step-${ev}`, onclick: () => step(ev) }, label)));
    $('ke').replaceChildren(p.known_error
      ? el('span', null, '已知错误草稿：', el('a', { href: `knowledge.html#${encodeURIComponent(p.known_error)}`, 'data-testid': 'known-error-link' }, p.known_error))
      : '尚未生成已知错误');
    $('ke-draft').hidden = !!p.known_error || p.status === 'closed';
    $('incidents').replaceChildren(...(p.incident_list || []).map((t) =>
      el('li', { 'data-testid': 'incident', 'data-number': t.number },
        el('span', { class: 'ticket-no' }, t.number), ' ', el('span', null, t.summary), ' ',
        el('span', { class: 'muted' }, K.TICKET_STATUS_LABEL[t.status] || t.status), ' ',
        el('button', { type: 'button', class: 'btn-link', 'data-testid': 'unlink', onclick: () => unlink(t.number) }, '取消关联'))));
    $('link-form').hidden = p.status === 'closed';
    $('events').replaceChildren(...(p.events || []).map((e) =>
      el('li', { 'data-testid': 'problem-event', 'data-type': e.type },
        el('time', null, K.fmtTime(e.at)), ' ', e.actor || '系统', ' ', EVENT[e.type] || e.type,
        e.ticket ? ` ${e.ticket}` : '', e.detail && e.detail.comment ? `：${e.detail.comment}` : '',
        e.detail && e.detail.fields ? `（${e.detail.fields.join('、')}）` : '')));
  }

  async function open(number) {
    try {
      fill(await api('GET', `/api/v1/problems/${encodeURIComponent(number)}`));
      say('');
      history.replaceState(null, '', `#${number}`);
      $('p-number').focus();
    } catch (e) { showError(e); }
  }

  async function refresh() {
    if (current) fill(await api('GET', `/api/v1/problems/${encodeURIComponent(current.number)}`));
    await load(false);
  }

  async function step(ev) {
    try {
      const r = await api('POST', `/api/v1/problems/${encodeURIComponent(current.number)}/steps`, { event: ev });
      await refresh();
      say(ev === 'resolved' && r.told ? `已通知 ${r.told} 个未解决工单的坐席` : '已更新');
    } catch (e) { say(`未能更新：${e.message}`); }
  }

  async function unlink(ticket) {
    try {
      await api('DELETE', `/api/v1/problems/${encodeURIComponent(current.number)}/incidents/${encodeURIComponent(ticket)}`);
      await refresh();
    } catch (e) { say(`未能取消关联：${e.message}`); }
  }

  $('edit-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const fields = {
      summary: $('f-summary').value, service: $('f-service').value, impact: Number($('f-impact').value),
      description: $('f-description').value, root_cause: $('f-root').value, workaround: $('f-workaround').value, fix: $('f-fix').value,
    };
    try {
      await api('PATCH', `/api/v1/problems/${encodeURIComponent(current.number)}`, fields);
      await refresh();
      say('已保存');
    } catch (e) { say(`未能保存：${e.message}`); }
  });

  $('link-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const ticket = $('link-ticket').value.trim().toUpperCase();
    if (!ticket) return;
    try {
      await api('POST', `/api/v1/problems/${encodeURIComponent(current.number)}/incidents`, { ticket });
      $('link-ticket').value = '';
      await refresh();
      say(`已关联 ${ticket}`);
    } catch (e) { say(`未能关联：${e.message}`); }
  });

  $('ke-draft').addEventListener('click', async () => {
    try {
      const r = await api('POST', `/api/v1/problems/${encodeURIComponent(current.number)}/known-error`);
      await refresh();
      say(`已生成已知错误草稿 ${r.knowledge_id}，提交审核后发布`);
    } catch (e) { say(`未能生成：${e.message}`); }
  });

  $('new-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const summary = $('new-summary').value.trim();
    if (!summary) return;
    try {
      const p = await api('POST', '/api/v1/problems', { summary });
      $('new-summary').value = '';
      await load(false);
      await open(p.number);
    } catch (e) { showError(e); }
  });

  $('status-filter').addEventListener('change', () => load(false));
  $('more').addEventListener('click', () => load(true));

  if (!token) {
    $('signin').hidden = false;
    return;
  }
  load(false).then(() => {
    const n = decodeURIComponent(location.hash.slice(1));
    if (/^PRB-\d+$/.test(n)) open(n);
  });
})();
