// Browser test of attachments in both pages (chatdesk/www/attach.js with
// chat.js and agent.js): a real PostgreSQL (scripts/pg.sh), the real indexer
// and chatdesk, headless Debian chromium (playwright-core). A requester
// attaches a PNG in the chat page and sees its thumbnail; the agent opens
// the ticket and sees the same thumbnail under the requester's message,
// takes the ticket and replies with an image of their own, which shows as a
// thumbnail on both pages. A thumbnail counts only once the browser has
// decoded the image at its real size (naturalWidth), which needs the bytes
// served back exactly. Every wait is a condition, never a fixed sleep.
// Screenshots: /tmp/kbdesk-attach-chat.png, /tmp/kbdesk-attach-agent.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { makePng } from '../e2e/png.mjs';
import { startDesk, stopDesk, deskPages, openPage, noProblems } from './lib.mjs';

const USER = 'attachdemo';
const PASS = 'attach demo password';
const WAIT = 20000;

const d = {};
const pages = deskPages(() => d.base, { user: USER, pass: PASS });

before(() => startDesk(d, 'kbattach-browser', {
  agents: [{ username: USER, password: PASS, name: '图片坐席' }],
  config: (tmp) => `attach_dir = ${path.join(tmp, 'attachments')}\n`,
}), { timeout: 180000 });

after(() => stopDesk(d), { timeout: 60000 });

/* Waits until a thumbnail inside scope (a CSS selector) shows an image
 * decoded at width w. */
const thumbShown = (page, scope, w) => page.waitForFunction(([s, width]) =>
  [...document.querySelectorAll(`${s} [data-testid=attachment-thumb]`)]
    .some((img) => img.complete && img.naturalWidth === width && img.getBoundingClientRect().width > 0
      && img.getBoundingClientRect().width <= 160), [scope, w]);

test('a requester\'s image and an agent\'s reply image show as thumbnails in the chat page and the agent page', { timeout: 120000 }, async (t) => {
  // the refused executable's 415 shows up as a console error, and only it
  const { page: chatPage, problems: chatProblems } = await openPage(d.browser, t, { wait: WAIT,
    allowedConsole: /WebSocket|status of 415 \(Unsupported Media Type\)/ });
  await pages.startChat(chatPage, '附件测试用户', 'attach.user@example.com');
  await pages.say(chatPage, '打印机报错，截图如下');

  // attach a 96x72 PNG: it is uploaded and sent as a message with its thumbnail
  const png = makePng(96, 72, 4);
  await chatPage.getByTestId('attach-input').setInputFiles({ name: '报错截图.png', mimeType: 'image/png', buffer: png });
  await thumbShown(chatPage, '[data-testid=transcript] [data-from=me]', 96);
  // an executable is refused with the server's clear reason, nothing sent
  const msgsBefore = await chatPage.locator('[data-testid=transcript] [data-testid=msg]').count();
  await chatPage.getByTestId('attach-input').setInputFiles({ name: 'photo.png', mimeType: 'image/png',
    buffer: Buffer.concat([Buffer.from('7f454c46', 'hex'), Buffer.alloc(64, 1)]) });
  await chatPage.waitForFunction(() => /ELF/.test(document.querySelector('[data-testid=chat-error]').textContent));
  assert.equal(await chatPage.locator('[data-testid=transcript] [data-testid=msg]').count(), msgsBefore);

  // escalate from the page
  await pages.escalate(chatPage);

  // the agent: open the ticket, see the thumbnail, take it, reply with an image
  const { page: agentPage, problems: agentProblems } = await openPage(d.browser, t, { wait: WAIT, allowedConsole: /WebSocket/ });
  await pages.agentLogin(agentPage);
  await agentPage.getByTestId('queue-open').first().click();
  await thumbShown(agentPage, '[data-testid=agent-transcript] [data-from=requester]', 96);
  await agentPage.getByTestId('take-button').first().click();
  await agentPage.waitForFunction(() => !document.querySelector('[data-testid=reply-input]').disabled);
  await agentPage.getByTestId('reply-input').fill('请按图中步骤操作');
  await agentPage.getByTestId('agent-attach-input').setInputFiles({ name: 'steps.png', mimeType: 'image/png', buffer: makePng(50, 40, 9) });
  await thumbShown(agentPage, '[data-testid=agent-transcript] [data-from=agent]', 50);
  await agentPage.waitForFunction(() => [...document.querySelectorAll('[data-testid=agent-transcript] [data-from=agent]')]
    .some((li) => li.dataset.state === 'sent'));
  // ... and the requester sees it under the agent's message
  await thumbShown(chatPage, '[data-testid=transcript] [data-from=agent]', 50);
  assert.equal(await chatPage.locator('[data-testid=transcript] [data-from=agent] [data-testid=msg-text]').first().textContent(),
    '请按图中步骤操作');

  await chatPage.screenshot({ path: '/tmp/kbdesk-attach-chat.png' });
  await agentPage.screenshot({ path: '/tmp/kbdesk-attach-agent.png' });
  noProblems(chatProblems);
  noProblems(agentProblems);
});
