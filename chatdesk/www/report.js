/* The monthly service report (report.html?month=2026-11, the standard's
 * 8.3.2): one printable section a page: the desk, satisfaction and
 * knowledge figures with the previous month's; service levels per policy;
 * the breached tickets with their causes (the resolution text), the major
 * incidents declared in the month and the priority-1 tickets; the problems
 * opened and resolved. Every figure and list comes from the same API as
 * the dashboard (/api/v1/reports/indicators and its /items lists), so the
 * printed report, the page and the CSV agree. Printed to PDF by the
 * browser (print CSS in reports.css: one section a page). */
(() => {
  'use strict';
  const K = window.kbdesk;
  const { $, el } = K;
  const token = K.session.get('kbdesk.agent.session', null);
  const FIG = {
    desk: [['desk', 'received', '受理工单'], ['desk', 'resolved', '解决工单'], ['desk', 'resolution_rate', '解决率'],
      ['desk', 'major_incidents', '重大事件'],
      ['desk', 'first_contact_resolution_rate', '一次解决率'], ['desk', 'self_service_rate', '自助解决率'],
      ['desk', 'deflection_rate', '真实分流率'], ['satisfaction', 'csat', '满意度 (4–5 分)'],
      ['satisfaction', 'rating_response_rate', '评价回收率']],
    knowledge: [['knowledge', 'new', '新增知识'], ['knowledge', 'updated', '更新知识'], ['knowledge', 'utilisation', '知识利用率'],
      ['knowledge', 'past_review', '逾期未复审']],
    timeliness: [['timeliness', 'response_attainment', '响应达成率'], ['timeliness', 'resolve_attainment', '解决达成率'],
      ['timeliness', 'breached', '超时工单'], ['timeliness', 'response_mean_hours', '平均响应（工作小时）'],
      ['timeliness', 'response_p90_hours', '响应 P90（工作小时）'], ['timeliness', 'resolve_mean_hours', '平均解决（工作小时）'],
      ['timeliness', 'resolve_p90_hours', '解决 P90（工作小时）']],
    problems: [['problems', 'opened', '新增问题'], ['problems', 'resolved', '解决问题'], ['problems', 'resolution_rate', '问题解决率'],
      ['problems', 'mean_hours_to_resolve', '平均解决时长（小时）'], ['problems', 'open_known_errors', '未关闭的已知错误']],
  };
  const RATE = /rate$|attainment$|^csat$|^utilisation$/;
  const fmt = (name, v) => (v === null || v === undefined ? '—' : RATE.test(name) ? `${(v * 100).toFixed(1)}%`
    : /_hours/.test(name) ? v.toFixed(2) : String(v));

  async function get(path) {
    const r = await fetch(path, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) {
      const b = await r.json().catch(() => null);
      throw new Error(b && b.error ? b.error.message : `HTTP ${r.status}`);
    }
    return r.json();
  }

  /* the first and last day of month "YYYY-MM", and of the month before */
  function bounds(month) {
    const [y, m] = month.split('-').map(Number);
    const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const pad = (n) => String(n).padStart(2, '0');
    const py = m === 1 ? y - 1 : y, pm = m === 1 ? 12 : m - 1;
    const plast = new Date(Date.UTC(py, pm, 0)).getUTCDate();
    return [`${y}-${pad(m)}-01`, `${y}-${pad(m)}-${pad(last)}`, `${py}-${pad(pm)}-01`, `${py}-${pad(pm)}-${pad(plast)}`];
  }

  function cards(id, list, now, before) {
    $(id).replaceChildren(...list.map(([sec, name, label]) => {
      const v = now[sec][name], p = before[sec][name];
      return el('div', { class: 'kpi', 'data-testid': 'm-kpi', 'data-name': `${sec}.${name}`, 'data-value': v === null ? '' : String(v) },
        el('div', { class: 'muted' }, label), el('div', { class: 'v' }, fmt(name, v)),
        el('div', { class: 'p muted' }, `上月 ${fmt(name, p)}`));
    }));
  }

  const cell = (v) => el('td', {}, v === null || v === undefined ? '' : String(v));
  function rows(id, items, cols, empty) {
    $(id).replaceChildren(...(items.length ? items.map((it) => el('tr', { 'data-testid': `${id}-row` }, cols.map((c) => cell(c(it)))))
      : [el('tr', {}, el('td', { colspan: String(cols.length), class: 'muted' }, empty))]));
  }

  function chart(id, option) {
    if (!window.echarts) return;
    const c = window.echarts.getInstanceByDom($(id)) || window.echarts.init($(id));
    c.setOption(option, true);
  }

  async function run() {
    const month = $('month').value;
    if (!/^\d{4}-\d{2}$/.test(month)) return;
    const [from, to, pf, pt] = bounds(month);
    const q = `from=${from}&to=${to}`;
    const items = (name) => get(`/api/v1/reports/indicators/${name}/items?${q}`).then((b) => b.items);
    try {
      const [now, before, breached, major, p1, opened, resolved] = await Promise.all([
        get(`/api/v1/reports/indicators?${q}`), get(`/api/v1/reports/indicators?from=${pf}&to=${pt}`),
        items('timeliness.breached'), items('desk.major_incidents'), items('desk.priority1'),
        items('problems.opened'), items('problems.resolved')]);
      $('page-error').hidden = true;
      $('title').textContent = `月度服务报告 ${month}`;
      $('tzline').textContent = `统计期 ${from} 至 ${to}（时区 ${now.period.tz}）；对比上月 ${pf} 至 ${pt}；生成于 ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
      cards('m-desk', FIG.desk, now, before);
      cards('m-knowledge', FIG.knowledge, now, before);
      cards('m-timeliness', FIG.timeliness, now, before);
      cards('m-problems', FIG.problems, now, before);
      chart('c-desk', {
        animation: false, legend: { data: ['本月', '上月'] },
        xAxis: { type: 'category', data: ['受理', '解决', '一次解决', '自助解决', '真实分流'] }, yAxis: { type: 'value' },
        series: [now, before].map((x, i) => ({ name: i ? '上月' : '本月', type: 'bar',
          data: [x.desk.received, x.desk.resolved, x.desk.first_contact, x.desk.self_solved, x.desk.deflected] })),
      });
      const pols = now.timeliness.policies;
      const pct = (v) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
      chart('c-policies', {
        animation: false, legend: { data: ['响应达成率', '解决达成率'] },
        xAxis: { type: 'category', data: pols.map((x) => `${x.service} P${x.priority}`) },
        yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
        series: [['响应达成率', 'response_attainment'], ['解决达成率', 'resolve_attainment']].map(([n, k]) => ({ name: n, type: 'bar',
          data: pols.map((x) => (x[k] === null ? 0 : Math.round(x[k] * 1000) / 10)) })),
      });
      rows('m-policies', pols, [(x) => x.service, (x) => `P${x.priority}`, (x) => x.response_due, (x) => x.response_met,
        (x) => pct(x.response_attainment), (x) => x.resolve_due, (x) => x.resolve_met, (x) => pct(x.resolve_attainment)], '本月没有到期的服务级别');
      const tcols = [(x) => x.id, (x) => x.summary, (x) => x.service || '', (x) => (x.priority ? `P${x.priority}` : ''), (x) => x.status, (x) => x.resolution || '（尚未解决）'];
      rows('m-breaches', breached, tcols, '本月没有超时工单');
      rows('m-major', major, tcols, '本月没有宣布重大事件');
      rows('m-p1', p1, [tcols[0], tcols[1], tcols[2], tcols[4], tcols[5]], '本月没有 P1 工单');
      const pcols = [(x) => x.id, (x) => x.summary, (x) => x.status, (x) => x.resolution || ''];
      rows('m-opened', opened, pcols, '本月没有新增问题');
      rows('m-resolved', resolved, pcols, '本月没有解决的问题');
      document.body.dataset.ready = '1';
    } catch (e) {
      $('page-error').textContent = `未能生成报告：${e.message}`;
      $('page-error').hidden = false;
    }
  }

  $('period').addEventListener('submit', (ev) => {
    ev.preventDefault();
    history.replaceState(null, '', `?month=${$('month').value}`);
    document.body.dataset.ready = '';
    run();
  });
  $('print').addEventListener('click', () => window.print());
  const asked = new URLSearchParams(location.search).get('month');
  /* default: last month in Asia/Shanghai */
  const now = new Date(Date.now() + 8 * 3600000);
  const last = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
  $('month').value = asked && /^\d{4}-\d{2}$/.test(asked) ? asked : last;
  if (!token) { $('signin').hidden = false; return; }
  run();
})();
