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
    desk: { received: kbt('rp2.001'), resolved: kbt('rp2.002'), resolution_rate: kbt('rp2.003'), first_contact_resolution_rate: kbt('rp2.004'),
      self_service_rate: kbt('rp2.005'), deflection_rate: kbt('rp2.006'), major_incidents: kbt('rp2.007') },
    satisfaction: { ratings: kbt('rp2.008'), csat: kbt('rp2.009'), rating_response_rate: kbt('rp2.010') },
    knowledge: { new: kbt('rp2.011'), updated: kbt('rp2.012'), retired: kbt('rp2.013'), past_review: kbt('rp2.014'), utilisation: kbt('rp2.015') },
    search: { searches: kbt('rp2.016'), zero_result_rate: kbt('rp2.017'), low_confidence_rate: kbt('rp2.018'), click_through: kbt('rp2.019') },
    timeliness: { response_attainment: kbt('rp2.020'), resolve_attainment: kbt('rp2.021'), breached: kbt('rp2.022'),
      response_mean_hours: kbt('rp2.023'), response_p90_hours: kbt('rp2.024'),
      resolve_mean_hours: kbt('rp2.025'), resolve_p90_hours: kbt('rp2.026'), response_due: kbt('rp2.027'), resolve_due: kbt('rp2.028') },
    problems: { opened: kbt('rp2.029'), resolved: kbt('rp2.030'), resolution_rate: kbt('rp2.031'), mean_hours_to_resolve: kbt('rp2.032'),
      open_known_errors: kbt('rp2.033') },
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
    'desk.received_resolved': kbt('rp2.034'), 'desk.first_contact': kbt('rp2.035'), 'desk.self_solved': kbt('rp2.036'),
    'desk.deflected': kbt('rp2.037'), 'satisfaction.ratings_good': kbt('rp2.038'), 'satisfaction.closed_rated': kbt('rp2.039'),
    'knowledge.tickets_with_knowledge': kbt('rp2.040'), 'timeliness.response_met': kbt('rp2.041'), 'timeliness.resolve_met': kbt('rp2.042'),
    'timeliness.response_timed': kbt('rp2.043'), 'timeliness.resolve_timed': kbt('rp2.044'),
    'desk.priority1': kbt('rp2.045'),
  };

  const iso = (d) => d.toISOString().slice(0, 10);
  function previous(from, to) {
    const f = new Date(`${from}T00:00:00Z`), t = new Date(`${to}T00:00:00Z`);
    const days = Math.round((t - f) / 86400000) + 1;
    return [iso(new Date(f - days * 86400000)), iso(new Date(f - 86400000))];
  }

  const get = (path) => K.api('GET', path);

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
      const dv = delta === null ? '' : RATES.has(name) ? kbt('rp2.046', [(delta * 100).toFixed(1)]) : String(Math.round(delta * 100) / 100);
      return el('div', { class: `kpi${list ? ' drillable' : ''}`, 'data-testid': 'kpi', 'data-name': `${sec}.${name}`,
        'data-value': v === null ? '' : String(v), 'data-previous': p === null || p === undefined ? '' : String(p),
        role: list ? 'button' : null, tabindex: list ? '0' : null,
        onclick: list ? () => drill(list) : null,
        onkeydown: list ? (ev) => { if (ev.key === 'Enter') drill(list); } : null },
      el('div', { class: 'muted' }, label), el('div', { class: 'v' }, fmt(name, v)),
      el('div', { class: 'p muted', 'data-testid': 'kpi-previous' }, kbt('rp2.047', [fmt(name, p)])),
      delta === null ? el('div', { class: 'd muted' }, kbt('rp2.048'))
        : el('div', { class: `d ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}` }, kbt('rp2.049', [`${delta > 0 ? '+' : ''}${dv}`])));
    }));
  }

  /* The rows behind a figure: the same SQL set as the figure (the API says
   * so), listed with links to the agent page. */
  async function drill(name, extra = '', range = null) {
    if (!period) return;
    const d = $('drill');
    const [from, to] = range || [period.from, period.to];
    try {
      const body = await get(`/api/v1/reports/indicators/${encodeURIComponent(name)}/items?from=${from}&to=${to}${period.filters}${extra}`);
      const [sec, key] = name.split('.');
      const label = DRILL_TITLE[name] || (LABEL[sec] && LABEL[sec][key]) || name;
      $('drill-title').textContent = label + (extra ? kbt('x.paren', [decodeURIComponent(extra.replace(/&/g, ' ').replace(/=/g, ' '))]) : '');
      $('drill-count').textContent = kbt('rp2.050', [body.period.from, body.period.to, body.count]);
      d.dataset.name = name;
      d.dataset.count = String(body.count);
      $('drill-list').replaceChildren(...body.items.map((it) => el('li', { 'data-testid': 'drill-item', 'data-id': it.id },
        it.kind === 'ticket' ? el('a', { href: `agent.html#ticket=${encodeURIComponent(it.id)}`, 'data-testid': 'drill-link' }, it.id)
          : it.kind === 'problem' ? el('a', { href: `problems.html#${encodeURIComponent(it.id)}` }, it.id)
            : el('span', {}, kbt('rp2.051', [it.id])),
        ' ', it.summary || '', it.priority ? ` · P${it.priority}` : '', it.service ? ` · ${it.service}` : '',
        it.working_hours !== undefined ? kbt('rp2.052', [it.working_hours.toFixed(2)]) : '',
        it.status ? el('span', { class: 'muted' }, ` · ${it.status}`) : '')));
      if (!d.open) d.showModal();
    } catch (e) {
      $('page-error').textContent = kbt('rp2.053', [e.message]);
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
        get(`/api/v1/reports/indicators?from=${from}&to=${to}${fq}`),
        get(`/api/v1/reports/indicators?from=${pf}&to=${pt}${fq}`),
        get(`/api/v1/reports/documents?from=${from}&to=${to}`),
      ]);
      $('page-error').hidden = true;
      $('title').textContent = kbt('rp2.054', [from, to]);
      $('tzline').textContent = kbt('rp2.055', [now.period.tz, pf, pt, now.period.recontact_days]);
      period = { from, to, filters: fq };
      $('monthly').href = `report.html?month=${from.slice(0, 7)}`;
      for (const sec of Object.keys(LABEL)) cards(sec, now, before);
      const DESK_BARS = ['desk.received', 'desk.resolved', 'desk.first_contact', 'desk.self_solved', 'desk.deflected'];
      chart('c-desk', {
        animation: false, tooltip: TOOLTIP, legend: { data: [kbt('rp2.056'), kbt('rp2.057')] },
        xAxis: { type: 'category', data: [kbt('rp2.058'), kbt('rp2.059'), kbt('rp2.060'), kbt('rp2.061'), kbt('rp2.062')] }, yAxis: { type: 'value' },
        series: [now, before].map((x, i) => ({ name: i ? kbt('rp2.057') : kbt('rp2.056'), type: 'bar',
          data: [x.desk.received, x.desk.resolved, x.desk.first_contact, x.desk.self_solved, x.desk.deflected] })),
      });
      /* a bar of this period lists its rows (the previous period's bar, the previous period's) */
      onBars('c-desk', (p) => drill(DESK_BARS[p.dataIndex], '', p.seriesIndex === 1 ? [pf, pt] : null));
      const pols = now.timeliness.policies;
      const polName = (x) => `${x.service} P${x.priority}`;
      chart('c-policies', {
        animation: false, tooltip: TOOLTIP, legend: { data: [kbt('rp2.020'), kbt('rp2.021')] },
        xAxis: { type: 'category', data: pols.map(polName) }, yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
        series: [[kbt('rp2.020'), 'response_attainment'], [kbt('rp2.021'), 'resolve_attainment']].map(([n, k]) => ({ name: n, type: 'bar',
          data: pols.map((x) => (x[k] === null ? 0 : Math.round(x[k] * 1000) / 10)) })),
      });
      onBars('c-policies', (p) => {
        const x = pols[p.dataIndex];
        drill(p.seriesIndex ? 'timeliness.resolve_due' : 'timeliness.response_due',
          `&service=${encodeURIComponent(x.service)}&priority=${x.priority}`);
      });
      const top = docs.items.slice(0, 10);
      chart('c-docs', {
        animation: false, tooltip: TOOLTIP, legend: { data: [kbt('rp2.061'), kbt('rp2.062'), kbt('rp2.063')] },
        xAxis: { type: 'category', data: top.map((d) => d.id) }, yAxis: { type: 'value' },
        series: [[kbt('rp2.061'), 'self_solved'], [kbt('rp2.062'), 'deflected'], [kbt('rp2.063'), 'shown']].map(([n, k]) => ({ name: n, type: 'bar', data: top.map((d) => d[k]) })),
      });
      document.body.dataset.ready = '1';
    } catch (e) {
      $('page-error').textContent = kbt('rp2.064', [e.message]);
      $('page-error').hidden = false;
    }
  }

  $('period').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
  $('filters').addEventListener('change', () => run());
  $('filters').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });

  /* the services and teams the filters offer */
  async function loadChoices() {
    try {
      const [sv, tm] = await Promise.all([get('/api/v1/services'), get('/api/v1/teams')]);
      for (const x of sv.services) $('f-service').append(el('option', { value: x.name }, `${x.title} (${x.name})`));
      for (const x of tm.teams) $('f-team').append(el('option', { value: x.slug }, x.name));
    } catch (e) { /* the filters stay "all"; the report itself says what failed */ }
  }
  $('print').addEventListener('click', () => window.print());
  $('csv').addEventListener('click', async () => {
    try {
      const r = await K.api('GET', `/api/v1/reports/indicators?from=${$('from').value}&to=${$('to').value}${filterQuery()}&format=csv`, null, { raw: true });
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
