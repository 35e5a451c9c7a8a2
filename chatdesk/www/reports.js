/* The reports page (reports.html): the key indicators of a period and of
 * the period before it (the trend) from GET /api/v1/reports/indicators,
 * the per-document figures from /documents, drawn with Apache ECharts
 * (vendored, chatdesk/www/vendor/), exported as CSV (the API's own CSV,
 * fetched with the session token) and printed to PDF by the browser (one
 * section a page). Figures are always the API's; labels are set as text. */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const token = K.session.get('kbdesk.agent.session', null);
  const LABEL = {
    desk: { received: '受理工单', resolved: '解决工单', resolution_rate: '解决率', first_contact_resolution_rate: '一次解决率',
      self_service_rate: '自助解决率', deflection_rate: '真实分流率' },
    satisfaction: { ratings: '评价数', csat: '满意度 (4–5 分)', rating_response_rate: '评价回收率' },
    knowledge: { new: '新增知识', updated: '更新知识', retired: '停用知识', past_review: '逾期未复审', utilisation: '知识利用率' },
    search: { searches: '搜索次数', zero_result_rate: '无结果率', low_confidence_rate: '无合适结果率', click_through: '点击率' },
    problems: { opened: '新增问题', resolved: '解决问题', resolution_rate: '问题解决率', mean_hours_to_resolve: '平均解决时长（小时）',
      open_known_errors: '未关闭的已知错误' },
  };
  const RATES = new Set(['zero_result_rate', 'low_confidence_rate', 'click_through', 'resolution_rate', 'first_contact_resolution_rate', 'self_service_rate', 'deflection_rate', 'csat',
    'rating_response_rate', 'utilisation']);

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

  const fmt = (name, v) => (v === null || v === undefined ? '—' : RATES.has(name) ? `${(v * 100).toFixed(1)}%` : String(v));

  function cards(sec, now, before) {
    $(`k-${sec}`).replaceChildren(...Object.entries(LABEL[sec]).map(([name, label]) => {
      const v = now[sec][name], p = before[sec][name];
      const delta = v !== null && p !== null && v !== undefined && p !== undefined ? v - p : null;
      return el('div', { class: 'kpi', 'data-testid': 'kpi', 'data-name': `${sec}.${name}`, 'data-value': v === null ? '' : String(v) },
        el('div', { class: 'muted' }, label), el('div', { class: 'v' }, fmt(name, v)),
        delta === null ? el('div', { class: 'd muted' }, '上期无数据')
          : el('div', { class: `d ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}` },
            `较上期 ${delta > 0 ? '+' : ''}${RATES.has(name) ? `${(delta * 100).toFixed(1)} 个百分点` : delta}`));
    }));
  }

  function chart(id, option) {
    if (!window.echarts) return;
    const c = window.echarts.getInstanceByDom($(id)) || window.echarts.init($(id));
    c.setOption(option, true);
  }

  async function run() {
    const from = $('from').value, to = $('to').value;
    const [pf, pt] = previous(from, to);
    try {
      const [now, before, docs] = await Promise.all([
        get(`/api/v1/reports/indicators?from=${from}&to=${to}`).then((r) => r.json()),
        get(`/api/v1/reports/indicators?from=${pf}&to=${pt}`).then((r) => r.json()),
        get(`/api/v1/reports/documents?from=${from}&to=${to}`).then((r) => r.json()),
      ]);
      $('page-error').hidden = true;
      $('title').textContent = `服务报告 ${from} 至 ${to}`;
      $('tzline').textContent = `时区 ${now.period.tz}；上期 ${pf} 至 ${pt}；分流判定窗口 ${now.period.recontact_days} 天`;
      for (const sec of Object.keys(LABEL)) cards(sec, now, before);
      chart('c-desk', {
        animation: false, tooltip: {}, legend: { data: ['本期', '上期'] },
        xAxis: { type: 'category', data: ['受理', '解决', '一次解决', '自助解决', '真实分流'] }, yAxis: { type: 'value' },
        series: [now, before].map((x, i) => ({ name: i ? '上期' : '本期', type: 'bar',
          data: [x.desk.received, x.desk.resolved, x.desk.first_contact, x.desk.self_solved, x.desk.deflected] })),
      });
      const top = docs.items.slice(0, 10);
      chart('c-docs', {
        animation: false, tooltip: {}, legend: { data: ['自助解决', '真实分流', '展示'] },
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
  $('print').addEventListener('click', () => window.print());
  $('csv').addEventListener('click', async () => {
    try {
      const r = await get(`/api/v1/reports/indicators?from=${$('from').value}&to=${$('to').value}&format=csv`);
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
  run();
})();
