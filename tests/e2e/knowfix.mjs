// The knowledge stack the knowledge tests (end to end and in the browser)
// run on: an author and a reviewer in the store, an index built from
// corpora/ and the store, searchd with an agent token, `indexer follow`
// polling the store each second, and chatdesk, all on 127.0.0.1.
import path from 'node:path';
import { randomBytes } from 'node:crypto';

// Starts the stack with the programs in bin on the store at conninfo and
// the index folder index; mustRun and start are the caller's (its time
// limits). Resolves to { agentToken, searchd, sbase, follower, chat, base }
// once every daemon is ready; the caller stops the three daemons.
export async function startKnowledgeStack({ bin, conninfo, index, author, reviewer, mustRun, start }) {
  const CHATDESK = path.join(bin, 'chatdesk');
  const INDEXER = path.join(bin, 'indexer');
  for (const a of [author, reviewer])
    await mustRun(CHATDESK, ['useradd', '--agent', a.username, '--db', conninfo], { input: `${a.password}\n` });
  await mustRun(CHATDESK, ['reviewer', reviewer.username, '--db', conninfo]);
  await mustRun(INDEXER, ['build', '--quiet', '--corpus', 'corpora', '--index', index, '--db', conninfo]);
  const agentToken = randomBytes(16).toString('hex');
  const searchd = start(path.join(bin, 'searchd'), ['--index', index, '--listen', '127.0.0.1:0',
    '--agent-token', agentToken, '--www', 'searchd/www', '--threads', '2'],
  /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m);
  const sbase = await searchd.ready;
  const follower = start(INDEXER, ['follow', '--corpus', 'corpora', '--index', index, '--db', conninfo,
    '--poll-ms', '1000'], /^(following .*)\n/m);
  await follower.ready;
  const chat = start(CHATDESK, ['--index', index, '--db', conninfo, '--listen', '127.0.0.1:0',
    '--www', 'chatdesk/www', '--threads', '2'], /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/m);
  const base = await chat.ready;
  return { agentToken, searchd, sbase, follower, chat, base };
}
