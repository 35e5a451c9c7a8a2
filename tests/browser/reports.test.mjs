// Browser tests of the reports (chatdesk/www reports.js, report.js): a
// real PostgreSQL (scripts/pg.sh), the real indexer and chatdesk with a
// 7x24 service loaded by `chatdesk sla-load`, requesters escalating over a
// real WebSocket (one ticket P1, resolved with a cause), an agent over the
// WebSocket and the API, and headless Debian chromium (playwright-core).
// - the dashboard: clicking a bar of the desk chart, a policy bar and a
//   figure lists the tickets behind it, as many as the API's figure, with
//   links to the agent page (screenshot /tmp/kbdesk-reports-drill.png);
// - the monthly report (report.html?month=...): printed to PDF by
//   Chromium, one page per section, and the PDF's text (pdftotext, from
//   poppler-utils) holds the API's figures, the breached tickets and
//   their causes, the major incident declared in the month (apart from
//   the P1 ticket) and the problems;
// - both in an English browser: no Chinese in the pages' own words, and
//   the printed report's pages headed in English.
//
//   KB_BIN=build/bin node --test --test-reporter=tap tests/browser/reports.test.mjs
//
// Every wait is a condition, never a fixed sleep.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mustRun } from '../e2e/daemon.mjs';
import { deskClient } from '../e2e/desk.mjs';
import { startDesk, stopDesk, allDaySla, openPage as open, noProblems } from './lib.mjs';

const PSQL = '/usr/lib/postgresql/15/bin/psql';
const USER = 'repdemo';
const PASS = 'reports demo password';
const WAIT = 20000;
const SHOT = '/tmp/kbdesk-reports-drill.png';
const PDF = '/tmp/kbdesk-monthly-report.pdf';
const PDF_EN = '/tmp/kbdesk-monthly-report-en.pdf';
const CAUSE = '核心交换机电源故障，已更换电源模块';

const d = {};
let conninfo, base, browser, token, month;
const numbers = [];

const sql = async (q) => (await mustRun(PSQL, ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', q])).trim();

async function api(method, p, json) {
  const r = await fetch(base + p, { method, headers: { authorization: `Bearer ${token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    body: json ? JSON.stringify(json) : undefined });
  const body = await r.json();
  assert.ok(r.ok, `${method} ${p}: ${r.status} ${JSON.stringify(body)}`);
  return body;
}

const desk = deskClient(() => ({ base, wsUrl: base.replace('http:', 'ws:') + '/ws' }), { wait: WAIT });
const escalate = (text, impact, urgency) => desk.wsEscalate('报表用户', text, impact, urgency);

before(async () => {
  await startDesk(d, 'kbrep-browser', {
    agents: [{ username: USER, password: PASS, role: 'admin' }], // an admin declares major incidents
    sla: allDaySla('network', (p) => ({ response_minutes: 30 * p, resolve_minutes: 240 * p }), '网络'),
  });
  ({ conninfo, base, browser } = d);
  const s = await fetch(`${base}/api/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: USER, password: PASS }) });
  token = (await s.json()).token;
  // three tickets: a P1 resolved with its cause, two P3 (one answered in time)
  numbers.push(await escalate('整栋楼断网了，交换机灯全灭', 1, 1));
  numbers.push(await escalate('打印机卡纸', 2, 2));
  numbers.push(await escalate('邮箱收不到外部邮件', 2, 2));
  const a = await desk.wsOpen();
  const ask = (obj) => desk.wsRequest(a, obj);
  assert.equal((await ask({ type: 'login', username: USER, password: PASS })).type, 'welcome');
  for (const n of [numbers[0], numbers[2]]) assert.equal((await ask({ type: 'take', ticket: n })).type, 'ticket');
  assert.equal((await ask({ type: 'reply', ticket: numbers[2], text: '正在检查' })).type, 'ack');
  assert.equal((await ask({ type: 'resolve', ticket: numbers[0], resolution: CAUSE })).type, 'ticket');
  await desk.wsClose(a);
  // the P1's and the printer's deadlines passed a minute ago: two breaches
  // (set in PostgreSQL: the clock is not what this test is about)
  await sql(`UPDATE ticket_sla SET started_at = now() - interval '3 minutes', response_warn_at = now() - interval '2 minutes',
    response_due = now() - interval '2 minutes', resolve_warn_at = now() - interval '1 minute', resolve_due = now() - interval '1 minute'
    WHERE ticket_id IN (SELECT id FROM tickets WHERE number IN ('${numbers[0]}', '${numbers[1]}'))`);
  // the answered P3's response was due just now, after its reply: met, and
  // due today whatever the hour (90 minutes on, it fell on tomorrow after
  // 22:30 in Shanghai, leaving P3's response bar at 0 %, too thin to click)
  await sql(`UPDATE ticket_sla SET started_at = now() - interval '3 minutes', response_warn_at = now() - interval '1 minute',
    response_due = now() WHERE ticket_id = (SELECT id FROM tickets WHERE number = '${numbers[2]}')`);
  month = await sql(`SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')`);
  // the printer ticket declared a major incident
  await api('POST', `/api/v1/tickets/${numbers[1]}/major`, { reason: '全部打印服务中断' });
  // a problem opened and resolved
  const p = await api('POST', '/api/v1/problems', { summary: '核心交换机电源老化' });
  await api('POST', `/api/v1/problems/${p.number}/steps`, { event: 'resolved' });
  numbers.push(p.number);
}, { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

const openPage = (t) => open(browser, t, { wait: WAIT, allowedConsole: /^$/ });

async function signIn(page) {
  await page.goto(base + '/agent.html');
  await page.getByTestId('login-username').fill(USER);
  await page.getByTestId('login-password').fill(PASS);
  await page.getByTestId('login-button').click();
  await page.getByTestId('desk').waitFor();
}

/* Clicks bar dataIndex of series seriesIndex of the ECharts chart in el id. */
async function clickBar(page, id, seriesIndex, dataIndex) {
  const at = await page.evaluate(([id, s, d]) => {
    const c = window.echarts.getInstanceByDom(document.getElementById(id));
    // the bar's rectangle as ECharts laid it out (bars of a group sit side by side)
    const b = c.getModel().getSeriesByIndex(s).getData().getItemLayout(d);
    const r = document.getElementById(id).getBoundingClientRect();
    return { x: r.left + b.x + b.width / 2, y: r.top + b.y + b.height / 2 };
  }, [id, seriesIndex, dataIndex]);
  await page.mouse.click(at.x, at.y);
}

async function drillOpened(page, name) {
  await page.waitForFunction((n) => { const d = document.getElementById('drill'); return d.open && d.dataset.name === n; }, name);
  const ids = await page.getByTestId('drill-item').evaluateAll((els) => els.map((e) => e.dataset.id));
  await page.getByTestId('drill-close').click();
  await page.waitForFunction(() => !document.getElementById('drill').open);
  return ids;
}

test('the dashboard: clicking a bar or a figure lists the tickets behind it, as many as the figure', { timeout: 120000 }, async (t) => {
  const { page, problems } = await openPage(t);
  await signIn(page);
  await page.goto(base + '/reports.html');
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  const from = await page.inputValue('#from'), to = await page.inputValue('#to');
  const ind = await api('GET', `/api/v1/reports/indicators?from=${from}&to=${to}`);
  assert.equal(ind.desk.received, 3);
  assert.equal(ind.timeliness.breached, 2);
  // the desk chart's first bar (received, this period)
  await clickBar(page, 'c-desk', 0, 0);
  const received = await drillOpened(page, 'desk.received');
  assert.deepEqual(received.sort(), numbers.slice(0, 3).sort());
  // a figure: the breached tickets, linked to the agent page
  await page.locator('[data-testid=kpi][data-name="timeliness.breached"]').click();
  await page.waitForFunction(() => document.getElementById('drill').open);
  assert.equal(await page.getByTestId('drill-link').first().getAttribute('href'), `agent.html#ticket=${numbers[0]}`);
  await page.screenshot({ path: SHOT, fullPage: true });
  assert.deepEqual((await drillOpened(page, 'timeliness.breached')).sort(), [numbers[0], numbers[1]].sort());
  // a policy's bar: the tickets due under it, as many as the policy says
  const pols = ind.timeliness.policies;
  const k = pols.findIndex((x) => x.priority === 3);
  assert.ok(k >= 0, JSON.stringify(pols));
  await clickBar(page, 'c-policies', 0, k);
  const due = await drillOpened(page, 'timeliness.response_due');
  assert.equal(due.length, pols[k].response_due);
  assert.ok(due.includes(numbers[1]));
  // every card shows the API's figure and the previous period's
  const shown = await page.getByTestId('kpi').evaluateAll((els) => els.map((e) => [e.dataset.name, e.dataset.value]));
  for (const [name, value] of shown) {
    const [sec, key] = name.split('.');
    assert.equal(value, ind[sec][key] === null ? '' : String(ind[sec][key]), name);
  }
  assert.ok(await page.locator('[data-testid=kpi] [data-testid=kpi-previous]').count() >= shown.length);
  // the major incidents' figure lists the one declared
  assert.equal(ind.desk.major_incidents, 1);
  await page.locator('[data-testid=kpi][data-name="desk.major_incidents"]').click();
  assert.deepEqual(await drillOpened(page, 'desk.major_incidents'), [numbers[1]]);
  // a filter: priority 1 leaves the P1 ticket alone
  await page.selectOption('#f-priority', '1');
  await page.waitForFunction(() => document.querySelector('[data-testid=kpi][data-name="desk.received"]').dataset.value === '1');
  await page.locator('[data-testid=kpi][data-name="desk.received"]').click();
  assert.deepEqual(await drillOpened(page, 'desk.received'), [numbers[0]]);
  noProblems(problems);
});

test('the monthly report prints to a PDF of one page per section holding the API\'s figures, the breaches with their causes and the problems', { timeout: 120000 }, async (t) => {
  const { page, problems } = await openPage(t);
  await signIn(page);
  await page.goto(`${base}/report.html?month=${month}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  const sections = await page.getByTestId('m-sec').count();
  assert.equal(sections, 4);
  assert.equal(await page.locator('#m-breaches tr[data-testid=m-breaches-row]').count(), 2);
  // the major incident declared this month, and the P1 ticket, each in its table
  const ids = (tb) => page.locator(`#${tb} tr[data-testid=${tb}-row] td:first-child`).allTextContents();
  assert.deepEqual(await ids('m-major'), [numbers[1]]);
  assert.deepEqual(await ids('m-p1'), [numbers[0]]);
  const [y, m] = month.split('-').map(Number);
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  const ind = await api('GET', `/api/v1/reports/indicators?from=${month}-01&to=${month}-${last}`);
  await page.pdf({ path: PDF, format: 'A4', printBackground: true });
  const info = await mustRun('pdfinfo', [PDF]);
  const pages = Number(/Pages:\s+(\d+)/.exec(info)[1]);
  assert.equal(pages, sections, `${pages} pages for ${sections} sections`);
  const txt = await mustRun('pdftotext', ['-layout', PDF, '-']);
  const flat = txt.replace(/\s+/g, ' ');
  assert.match(flat, new RegExp(`月度服务报告 ${month}`));
  assert.match(flat, /Asia\/Shanghai/);
  // each page starts its own section: the headings are on pages 1..4
  const byPage = txt.split('\f');
  assert.match(byPage[0], /服务台与满意度/);
  assert.match(byPage[1], /服务级别与时效/);
  assert.match(byPage[2], /超时工单及原因/);
  assert.match(byPage[3], /问题管理/);
  // the API's figures: received, breached and the attainment as printed
  assert.match(byPage[0], new RegExp(`受理工单\\s+[^\\n]*\\n?\\s*${ind.desk.received}\\b`));
  assert.match(byPage[1], new RegExp(`超时工单[\\s\\S]{0,200}?\\b${ind.timeliness.breached}\\b`));
  const att = ind.timeliness.response_attainment;
  assert.ok(flat.includes(att === null ? '—' : `${(att * 100).toFixed(1)}%`), flat);
  // the breaches with their causes, the P1, the problem
  for (const n of [numbers[0], numbers[1]]) assert.ok(byPage[2].includes(n), n);
  assert.match(byPage[2], /重大事件/);
  assert.ok(byPage[2].replace(/\s+/g, '').includes(CAUSE), 'the cause of the P1 breach');
  assert.ok(byPage[3].includes(numbers[3]), 'the problem opened and resolved');
  noProblems(problems);
});

const CJK = /[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/;

/* The page's own words in an English browser: every translated element
 * and attribute, the headings, the table heads, the figures' labels and
 * their comparison lines, the title lines and the charts' legends and
 * axes; not the rows (ticket summaries, service names: data). */
const ownWords = (page) => page.evaluate(() => {
  const out = [document.title, document.querySelector('header').textContent.replace('中文', '')];
  for (const e of document.querySelectorAll('[data-i18n], h1, h2, h3, th, label > span, #tzline, #filterline')) out.push(e.textContent);
  for (const e of document.querySelectorAll('[data-i18n-placeholder]')) out.push(e.getAttribute('placeholder'));
  for (const k of document.querySelectorAll('.kpi')) out.push(k.firstChild.textContent, ...[...k.children].slice(2).map((c) => c.textContent));
  for (const c of document.querySelectorAll('.chart')) {
    const o = window.echarts && window.echarts.getInstanceByDom(c) && window.echarts.getInstanceByDom(c).getOption();
    if (!o) continue;
    out.push(...o.legend[0].data.map(String), ...o.series.map((s) => s.name));
    if (c.id !== 'c-policies' && c.id !== 'c-docs') out.push(...o.xAxis[0].data.map(String)); // policies and documents: names from the data
  }
  return out.filter((s) => s);
});

test('the dashboard and the monthly report in an English browser: no Chinese in their own words', { timeout: 120000 }, async (t) => {
  const { page, problems } = await open(browser, t, { wait: WAIT, allowedConsole: /^$/, locale: 'en-US' });
  await signIn(page);
  await page.goto(base + '/reports.html');
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  let words = await ownWords(page);
  assert.ok(words.includes('Tickets received') && words.includes('Major incidents'), words.join(' | '));
  assert.match(await page.locator('#title').textContent(), /^Service report \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}$/);
  assert.deepEqual(words.filter((s) => CJK.test(s)), [], 'the dashboard speaks English');
  // a drill-down's count line
  await page.locator('[data-testid=kpi][data-name="desk.received"]').click();
  await page.waitForFunction(() => document.getElementById('drill').open);
  assert.match(await page.getByTestId('drill-count').textContent(), /^\d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}: 3 items$/);
  await page.getByTestId('drill-close').click();
  await page.goto(`${base}/report.html?month=${month}`);
  await page.waitForFunction(() => document.body.dataset.ready === '1');
  words = await ownWords(page);
  assert.equal(await page.getByTestId('report-title').textContent(), `Monthly service report ${month}`);
  assert.ok(words.includes('Breached tickets and their causes'), words.join(' | '));
  assert.deepEqual(words.filter((s) => CJK.test(s)), [], 'the monthly report speaks English');
  // printed: a page per section, each headed in English
  await page.pdf({ path: PDF_EN, format: 'A4', printBackground: true });
  const pages = Number(/Pages:\s+(\d+)/.exec(await mustRun('pdfinfo', [PDF_EN]))[1]);
  assert.equal(pages, await page.getByTestId('m-sec').count());
  const byPage = (await mustRun('pdftotext', ['-layout', PDF_EN, '-'])).split('\f');
  assert.match(byPage[0], new RegExp(`Monthly service report ${month}`));
  assert.match(byPage[0], /Service desk and satisfaction/);
  assert.match(byPage[1], /Service levels and timeliness/);
  assert.match(byPage[2], /Breached tickets and their causes/);
  assert.match(byPage[3], /Problems/);
  noProblems(problems);
});
