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
    desk: [['desk', 'received', kbt('rp2.001')], ['desk', 'resolved', kbt('rp2.002')], ['desk', 'resolution_rate', kbt('rp2.003')],
      ['desk', 'major_incidents', kbt('rp2.007')],
      ['desk', 'first_contact_resolution_rate', kbt('rp2.004')], ['desk', 'self_service_rate', kbt('rp2.005')],
      ['desk', 'deflection_rate', kbt('rp2.006')], ['satisfaction', 'csat', kbt('rp2.009')],
      ['satisfaction', 'rating_response_rate', kbt('rp2.010')]],
    knowledge: [['knowledge', 'new', kbt('rp2.011')], ['knowledge', 'updated', kbt('rp2.012')], ['knowledge', 'utilisation', kbt('rp2.015')],
      ['knowledge', 'past_review', kbt('rp2.014')]],
    timeliness: [['timeliness', 'response_attainment', kbt('rp2.020')], ['timeliness', 'resolve_attainment', kbt('rp2.021')],
      ['timeliness', 'breached', kbt('rp2.022')], ['timeliness', 'response_mean_hours', kbt('rp2.023')],
      ['timeliness', 'response_p90_hours', kbt('rp2.024')], ['timeliness', 'resolve_mean_hours', kbt('rp2.025')],
      ['timeliness', 'resolve_p90_hours', kbt('rp2.026')]],
    problems: [['problems', 'opened', kbt('rp2.029')], ['problems', 'resolved', kbt('rp2.030')], ['problems', 'resolution_rate', kbt('rp2.031')],
      ['problems', 'mean_hours_to_resolve', kbt('rp2.032')], ['problems', 'open_known_errors', kbt('rp2.033')]],
  };
  const RATE = /rate$|attainment$|^csat$|^utilisation$/;
  const fmt = (name, v) => (v === null || v === undefined ? '—' : RATE.test(name) ? `${(v * 100).toFixed(1)}%`
    : /_hours/.test(name) ? v.toFixed(2) : String(v));

  const get = (path) => K.api('GET', path);

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
        el('div', { class: 'p muted' }, kbt('mr.001', [fmt(name, p)])));
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
      $('title').textContent = kbt('mr.002', [month]);
      $('tzline').textContent = kbt('mr.003', [from, to, now.period.tz, pf, pt, new Date().toISOString().slice(0, 16).replace('T', ' ')]);
      cards('m-desk', FIG.desk, now, before);
      cards('m-knowledge', FIG.knowledge, now, before);
      cards('m-timeliness', FIG.timeliness, now, before);
      cards('m-problems', FIG.problems, now, before);
      chart('c-desk', {
        animation: false, legend: { data: [kbt('mr.004'), kbt('mr.005')] },
        xAxis: { type: 'category', data: [kbt('rp2.058'), kbt('rp2.059'), kbt('rp2.035'), kbt('rp2.061'), kbt('rp2.062')] }, yAxis: { type: 'value' },
        series: [now, before].map((x, i) => ({ name: i ? kbt('mr.005') : kbt('mr.004'), type: 'bar',
          data: [x.desk.received, x.desk.resolved, x.desk.first_contact, x.desk.self_solved, x.desk.deflected] })),
      });
      const pols = now.timeliness.policies;
      const pct = (v) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);
      chart('c-policies', {
        animation: false, legend: { data: [kbt('rp2.020'), kbt('rp2.021')] },
        xAxis: { type: 'category', data: pols.map((x) => `${x.service} P${x.priority}`) },
        yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
        series: [[kbt('rp2.020'), 'response_attainment'], [kbt('rp2.021'), 'resolve_attainment']].map(([n, k]) => ({ name: n, type: 'bar',
          data: pols.map((x) => (x[k] === null ? 0 : Math.round(x[k] * 1000) / 10)) })),
      });
      rows('m-policies', pols, [(x) => x.service, (x) => `P${x.priority}`, (x) => x.response_due, (x) => x.response_met,
        (x) => pct(x.response_attainment), (x) => x.resolve_due, (x) => x.resolve_met, (x) => pct(x.resolve_attainment)], kbt('mr.006'));
      const tcols = [(x) => x.id, (x) => x.summary, (x) => x.service || '', (x) => (x.priority ? `P${x.priority}` : ''), (x) => x.status, (x) => x.resolution || kbt('mr.007')];
      rows('m-breaches', breached, tcols, kbt('mr.008'));
      rows('m-major', major, tcols, kbt('mr.009'));
      rows('m-p1', p1, [tcols[0], tcols[1], tcols[2], tcols[4], tcols[5]], kbt('mr.010'));
      const pcols = [(x) => x.id, (x) => x.summary, (x) => x.status, (x) => x.resolution || ''];
      rows('m-opened', opened, pcols, kbt('mr.011'));
      rows('m-resolved', resolved, pcols, kbt('mr.012'));
      document.body.dataset.ready = '1';
    } catch (e) {
      $('page-error').textContent = kbt('rp2.064', [e.message]);
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
