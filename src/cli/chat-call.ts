/**
 * The chat's call, once its command line and configuration are known good: the store prepared
 * as the worker's main process prepares it, the pool and memory services built as a job process
 * builds them, the call run with a text connection, the conversation, and the hang-up. Loaded
 * only then: the framework takes seconds to import, and `--help` or a mistake needs none of it.
 */
import { initializeLogger, log } from '@livekit/agents';
import { type LiveCall, runCall } from '../call/run-call.js';
import type { Config } from '../config/config.js';
import { secretsOf } from '../config/secrets.js';
import type { Logger } from '../lib/logger.js';
import { buildProcessResources } from '../worker/job-process.js';
import { converse } from './chat-conversation.js';
import { prepareChatStore } from './chat-store.js';

/** What the chat tells its user besides the conversation (stderr: `chat: …`). */
export type Notice = (line: string) => void;

/**
 * @param userId the caller the user is: their memories, greeting and tools
 * @param asRead the configuration, checked
 * @param notice where to say what is not the conversation (no memory on this chat, turns left)
 * @returns once the user has left, the call has hung up (memories saved, next greeting
 *   prepared), the pool is closed and the embedded PostgreSQL this chat started is stopped
 */
export async function runChat(userId: string, asRead: Config, notice: Notice): Promise<void> {
  // The framework's logs and ours are for whoever asks for them: the screen is the conversation.
  const asked = (process.env.LOG_LEVEL ?? '').trim() !== '';
  initializeLogger({ pretty: process.stdout.isTTY, level: asked ? asRead.logLevel : 'silent' });
  const logger: Logger = log().child({ component: 'chat' });

  const store = await prepareChatStore(asRead, logger.child({ component: 'memory-store' }));
  const { config, prepared } = store;
  try {
    if (prepared.kind === 'none') notice(`no memory on this chat: ${prepared.reason}`);
    const { pool, services } = await buildProcessResources(config, logger);
    try {
      if (!services && prepared.kind !== 'none') {
        notice('no memory on this chat: the memory store could not be built');
      }
      const live = await runCall({
        pool,
        config,
        services,
        userId,
        logger,
        connection: { text: true },
      });
      // The assistant is told as well, and will not claim to remember.
      if (services && !live.call.memoriesLoaded) {
        notice('your memories could not be loaded: this chat goes on without them');
      }
      await talk(live, secretsOf(config), notice);
    } finally {
      services?.outbox.close();
      await pool.close();
    }
  } finally {
    await store.release();
  }
}

/** The greeting, the conversation, then the hang-up: what was said is remembered before we leave. */
async function talk(live: LiveCall, secrets: readonly string[], notice: Notice): Promise<void> {
  process.stdout.write(`agent: ${live.call.greeting.text}\n`);
  const ended = await converse(live, {
    input: process.stdin,
    output: process.stdout,
    notices: process.stderr,
    prompt: process.stdin.isTTY === true && process.stdout.isTTY === true,
    secrets,
  });
  if (ended === 'interrupt') process.stdout.write('\n');
  const report = await live.hangUp();
  if (report.drain && report.drain.left > 0) {
    notice(
      `${report.drain.left} turn(s) not yet remembered: kept on disk, saved on the next chat or call`,
    );
  }
}
