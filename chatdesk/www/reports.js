/* The reports page (reports.html): the key indicators of a period and of
 * the period before it (the trend: each card shows the previous value and
 * the change) from GET /api/v1/reports/indicators, filtered by service,
 * team, category, channel and priority, the per-document figures from
 * /documents, drawn with Apache ECharts (vendored, chatdesk/www/vendor/),
 * exported as CSV (the API's own CSV, fetched with the session token) and
 * printed to PDF by the browser (one section a page). Clicking a figure or
 * a bar lists the tickets (or chats, problems) behind it from
 * /reports/indicators/{name}/items, with links to the agent page. Figures
 * are always the API's; labels are set as text. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const token = K.session.get('kbdesk.agent.session', null);
  const LABEL = {
    desk: { received: '受理工单', resolved: '解决工单', resolution_rate: '解决率', first_contact_resolution_rate: '一次解决率',
      self_service_rate: '自助解决率', deflection_rate: '真实分流率', major_incidents: '重大事件' },
    satisfaction: { ratings: '评价数', csat: '满意度 (4–5 分)', rating_response_rate: '评价回收率' },
    knowledge: { new: '新增知识', updated: '更新知识', retired: '停用知识', past_review: '逾期未复审', utilisation: '知识利用率' },
    search: { searches: '搜索次数', zero_result_rate: '无结果率', low_confidence_rate: '无合适结果率', click_through: '点击率' },
    timeliness: { response_attainment: '响应达成率', resolve_attainment: '解决达成率', breached: '超时工单',
      response_mean_hours: '平均响应（工作小时）', response_p90_hours: '响应 P90（工作小时）',
      resolve_mean_hours: '平均解决（工作小时）', resolve_p90_hours: '解决 P90（工作小时）', response_due: '响应到期', resolve_due: '解决到期' },
    problems: { opened: '新增问题', resolved: '解决问题', resolution_rate: '问题解决率', mean_hours_to_resolve: '平均解决时长（小时）',
      open_known_errors: '未关闭的已知错误' },
  };
  const RATES = new Set(['zero_result_rate', 'low_confidence_rate', 'click_through', 'resolution_rate', 'first_contact_resolution_rate', 'self_service_rate', 'deflection_rate', 'csat',
    'rating_response_rate', 'utilisation', 'response_attainment', 'resolve_attainment']);
  /* the list behind a card: its own name, or the count it is computed from */
  const DRILL = {
    'desk.received': 'desk.received', 'desk.resolved': 'desk.resolved', 'desk.resolution_rate': 'desk.received_resolved',
    'desk.first_contact_resolution_rate': 'desk.first_contact', 'desk.self_service_rate': 'desk.self_solved',
    'desk.deflection_rate': 'desk.deflected', 'desk.major_incidents': 'desk.major_incidents',
    'satisfaction.ratings': 'satisfaction.ratings',
    'satisfaction.csat': 'satisfaction.ratings_good', 'satisfaction.rating_response_rate': 'satisfaction.closed_rated',
    'knowledge.utilisation': 'knowledge.tickets_with_knowledge', 'timeliness.response_attainment': 'timeliness.response_met',
    'timeliness.resolve_attainment': 'timeliness.resolve_met', 'timeliness.breached': 'timeliness.breached',
    'timeliness.response_due': 'timeliness.response_due', 'timeliness.resolve_due': 'timeliness.resolve_due',
    'timeliness.response_mean_hours': 'timeliness.response_timed', 'timeliness.response_p90_hours': 'timeliness.response_timed',
    'timeliness.resolve_mean_hours': 'timeliness.resolve_timed', 'timeliness.resolve_p90_hours': 'timeliness.resolve_timed',
    'problems.opened': 'problems.opened', 'problems.resolved': 'problems.resolved',
  };
  const DRILL_TITLE = {
    'desk.received_resolved': '本期受理且已解决', 'desk.first_contact': '一次解决', 'desk.self_solved': '自助解决的对话',
    'desk.deflected': '真实分流的对话', 'satisfaction.ratings_good': '4–5 分评价', 'satisfaction.closed_rated': '已评价的关闭工单',
    'knowledge.tickets_with_knowledge': '关联了知识的工单', 'timeliness.response_met': '按时响应', 'timeliness.resolve_met': '按时解决',
    'timeliness.response_timed': '本期首次响应（工作时长）', 'timeliness.resolve_timed': '本期解决（工作时长）',
    'desk.priority1': 'P1 工单',
  };

  const iso = (d) => d.toISOString().slice(0, 10);
  function previous(from, to) {
    const f = new Date(`${from}T00:00:00Z`), t = new Date(`${to}T00:00:00Z`);
    const days = Math.round((t - f) / 86400000) + 1;
    return [iso(new Date(f - days * 86400000)), iso(new Date(f - 86400000))];
  }

  async function get(path) {
    const r = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) {
      const b = await r.json().catch(() => null);
      throw new Error(b && b.error ? b.error.message : `HTTP ${r.status}`);
    }
    return r;
  }

  function filterQuery() {
    const q = new URLSearchParams();
    for (const [id, key] of [['f-service', 'service'], ['f-team', 'team'], ['f-category', 'category'], ['f-channel', 'channel'], ['f-priority', 'priority']]) {
      const v = $(id).value.trim();
      if (v) q.set(key, v);
    }
    const s = q.toString();
    return s ? `&${s}` : '';
  }

  const fmt = (name, v) => (v === null || v === undefined ? '—' : RATES.has(name) ? `${(v * 100).toFixed(1)}%`
    : /_hours/.test(name) ? v.toFixed(2) : String(v));

  let period = null; /* {from, to, filters}: the period the cards show */

  function cards(sec, now, before) {
    $(`k-${sec}`).replaceChildren(...Object.entries(LABEL[sec]).map(([name, label]) => {
      const v = now[sec][name], p = before[sec][name];
      const delta = v !== null && p !== null && v !== undefined && p !== undefined ? v - p : null;
      const list = DRILL[`${sec}.${name}`];
      const dv = delta === null ? '' : RATES.has(name) ? `${(delta * 100).toFixed(1)} 个百分点` : String(Math.round(delta * 100) / 100);
      return el('div', { class: `kpi${list ? ' drillable' : ''}`, 'data-testid': 'kpi', 'data-name': `${sec}.${name}`,
        'data-value': v === null ? '' : String(v), 'data-previous': p === null || p === undefined ? '' : String(p),
        role: list ? 'button' : null, tabindex: list ? '0' : null,
        onclick: list ? () => drill(list) : null,
        onkeydown: list ? (ev) => { if (ev.key === 'Enter') drill(list); } : null },
      el('div', { class: 'muted' }, label), el('div', { class: 'v' }, fmt(name, v)),
      el('div', { class: 'p muted', 'data-testid': 'kpi-previous' }, `上期 ${fmt(name, p)}`),
      delta === null ? el('div', { class: 'd muted' }, '上期无数据')
        : el('div', { class: `d ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}` }, `较上期 ${delta > 0 ? '+' : ''}${dv}`));
    }));
  }

  /* The rows behind a figure: the same SQL set as the figure (the API says
   * so), listed with links to the agent page. */
  async function drill(name, extra = '', range = null) {
    if (!period) return;
    const d = $('drill');
    const [from, to] = range || [period.from, period.to];
    try {
      const r = await get(`/api/v1/reports/indicators/${encodeURIComponent(name)}/items?from=${from}&to=${to}${period.filters}${extra}`);
      const body = await r.json();
      const [sec, key] = name.split('.');
      const label = DRILL_TITLE[name] || (LABEL[sec] && LABEL[sec][key]) || name;
      $('drill-title').textContent = `${label}${extra ? `（${decodeURIComponent(extra.replace(/&/g, ' ').replace(/=/g, ' '))}）` : ''}`;
      $('drill-count').textContent = `${body.period.from} 至 ${body.period.to}：共 ${body.count} 项`;
      d.dataset.name = name;
      d.dataset.count = String(body.count);
      $('drill-list').replaceChildren(...body.items.map((it) => el('li', { 'data-testid': 'drill-item', 'data-id': it.id },
        it.kind === 'ticket' ? el('a', { href: `agent.html#ticket=${encodeURIComponent(it.id)}`, 'data-testid': 'drill-link' }, it.id)
          : it.kind === 'problem' ? el('a', { href: `problems.html#${encodeURIComponent(it.id)}` }, it.id)
            : el('span', {}, `对话 ${it.id}`),
        ' ', it.summary || '', it.priority ? ` · P${it.priority}` : '', it.service ? ` · ${it.service}` : '',
        it.working_hours !== undefined ? ` · ${it.working_hours.toFixed(2)} 工作小时` : '',
        it.status ? el('span', { class: 'muted' }, ` · ${it.status}`) : '')));
      if (!d.open) d.showModal();
    } catch (e) {
      $('page-error').textContent = `未能列出：${e.message}`;
      $('page-error').hidden = false;
    }
  }

  /* tooltips drawn on the canvas: ECharts' HTML tooltip sets inline styles,
   * which the Content-Security-Policy refuses */
  const TOOLTIP = { renderMode: 'richText' };

  function chart(id, option) {
    if (!window.echarts) return;
    const c = window.echarts.getInstanceByDom($(id)) || window.echarts.init($(id));
    c.setOption(option, true);
  }

  /* cb(params) when a bar of chart id is clicked (once per chart) */
  function onBars(id, cb) {
    const c = window.echarts && window.echarts.getInstanceByDom($(id));
    if (!c) return;
    c.off('click');
    c.on('click', (p) => { if (p.componentType === 'series') cb(p); });
  }

  async function run() {
    const from = $('from').value, to = $('to').value;
    const [pf, pt] = previous(from, to);
    const fq = filterQuery();
    try {
      const [now, before, docs] = await Promise.all([
        get(`/api/v1/reports/indicators?from=${from}&to=${to}${fq}`).then((r) => r.json()),
        get(`/api/v1/reports/indicators?from=${pf}&to=${pt}${fq}`).then((r) => r.json()),
        get(`/api/v1/reports/documents?from=${from}&to=${to}`).then((r) => r.json()),
      ]);
      $('page-error').hidden = true;
      $('title').textContent = `服务报告 ${from} 至 ${to}`;
      $('tzline').textContent = `时区 ${now.period.tz}；上期 ${pf} 至 ${pt}；分流判定窗口 ${now.period.recontact_days} 天`;
      period = { from, to, filters: fq };
      $('monthly').href = `report.html?month=${from.slice(0, 7)}`;
      for (const sec of Object.keys(LABEL)) cards(sec, now, before);
      const DESK_BARS = ['desk.received', 'desk.resolved', 'desk.first_contact', 'desk.self_solved', 'desk.deflected'];
      chart('c-desk', {
        animation: false, tooltip: TOOLTIP, legend: { data: ['本期', '上期'] },
        xAxis: { type: 'category', data: ['受理', '解决', '一次解决', '自助解决', '真实分流'] }, yAxis: { type: 'value' },
        series: [now, before].map((x, i) => ({ name: i ? '上期' : '本期', type: 'bar',
          data: [x.desk.received, x.desk.resolved, x.desk.first_contact, x.desk.self_solved, x.desk.deflected] })),
      });
      /* a bar of this period lists its rows (the previous period's bar, the previous period's) */
      onBars('c-desk', (p) => drill(DESK_BARS[p.dataIndex], '', p.seriesIndex === 1 ? [pf, pt] : null));
      const pols = now.timeliness.policies;
      const polName = (x) => `${x.service} P${x.priority}`;
      chart('c-policies', {
        animation: false, tooltip: TOOLTIP, legend: { data: ['响应达成率', '解决达成率'] },
        xAxis: { type: 'category', data: pols.map(polName) }, yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
        series: [['响应达成率', 'response_attainment'], ['解决达成率', 'resolve_attainment']].map(([n, k]) => ({ name: n, type: 'bar',
          data: pols.map((x) => (x[k] === null ? 0 : Math.round(x[k] * 1000) / 10)) })),
      });
      onBars('c-policies', (p) => {
        const x = pols[p.dataIndex];
        drill(p.seriesIndex ? 'timeliness.resolve_due' : 'timeliness.response_due',
          `&service=${encodeURIComponent(x.service)}&priority=${x.priority}`);
      });
      const top = docs.items.slice(0, 10);
      chart('c-docs', {
        animation: false, tooltip: TOOLTIP, legend: { data: ['自助解决', '真实分流', '展示'] },
        xAxis: { type: 'category', data: top.map((d) => d.id) }, yAxis: { type: 'value' },
        series: [['自助解决', 'self_solved'], ['真实分流', 'deflected'], ['展示', 'shown']].map(([n, k]) => ({ name: n, type: 'bar', data: top.map((d) => d[k]) })),
      });
      document.body.dataset.ready = '1';
    } catch (e) {
      $('page-error').textContent = `未能生成报告：${e.message}`;
      $('page-error').hidden = false;
    }
  }

  $('period').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
  $('filters').addEventListener('change', () => run());
  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });

  /* the services and teams the filters offer */
  async function loadChoices() {
    try {
      const [sv, tm] = await Promise.all([get('/api/v1/services').then((r) => r.json()), get('/api/v1/teams').then((r) => r.json())]);
      for (const x of sv.services) $('f-service').append(el('option', { value: x.name }, `${x.title} (${x.name})`));
      for (const x of tm.teams) $('f-team').append(el('option', { value: x.slug }, x.name));
    } catch (e) { /* the filters stay "all"; the report itself says what failed */ }
  }
  $('print').addEventListener('click', () => window.print());
  $('csv').addEventListener('click', async () => {
    try {
      const r = await get(`/api/v1/reports/indicators?from=${$('from').value}&to=${$('to').value}${filterQuery()}&format=csv`);
      const a = el('a', { href: URL.createObjectURL(await r.blob()), download: `kbdesk-indicators-${$('from').value}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) { $('page-error').textContent = e.message; $('page-error').hidden = false; }
  });

  /* this month in Asia/Shanghai */
  const today = new Date(Date.now() + 8 * 3600000);
  $('from').value = `${iso(today).slice(0, 8)}01`;
  $('to').value = iso(today);
  if (!token) { $('signin').hidden = false; return; }
  loadChoices();
  run();
})();
