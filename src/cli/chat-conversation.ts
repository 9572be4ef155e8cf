/**
 * The typed conversation of `npm run chat`: each line the user types is one turn of the live
 * call's session, and the assistant's answers are printed as plain lines (`agent: …`).
 */
import { voice } from '@livekit/agents';
import { createInterface } from 'node:readline';
import type { LiveCall } from '../call/run-call.js';
import { describeError } from '../lib/redact.js';

/** Typed to leave, as well as Ctrl-D (end of input) and Ctrl-C. */
export const BYE = '/bye';

/** Why the conversation ended: end of input, `/bye`, or Ctrl-C (SIGINT). */
export type ConversationEnd = 'eof' | 'bye' | 'interrupt';

export interface ConversationIO {
  input: NodeJS.ReadableStream;
  /** The user's screen: the assistant's lines, and the prompt on a terminal. */
  output: NodeJS.WritableStream;
  /** Notices that are not the conversation (a turn that got no answer). */
  notices: NodeJS.WritableStream;
  /** Show a `you: ` prompt: only when a person types at a terminal, never into a pipe. */
  prompt: boolean;
  /** Secrets that must never be printed in a notice (the API keys). */
  secrets?: readonly string[];
}

/**
 * Runs the conversation until the user leaves. A turn that fails (the model unreachable, an
 * error after the framework's retries) is reported in one line and the conversation goes on.
 * Ctrl-C during a turn ends the conversation at once: the caller hanging up mid-answer.
 * @param live the call, started, its greeting already in the conversation
 * @param io where lines come from and go to
 * @returns why it ended; the call is left to the caller to hang up
 */
export async function converse(live: LiveCall, io: ConversationIO): Promise<ConversationEnd> {
  const lines = createInterface({ input: io.input, output: io.output, terminal: io.prompt });
  lines.setPrompt('you: ');
  const leaving = new AbortController();
  const interruption = new Promise<'interrupt'>((resolve) => {
    leaving.signal.addEventListener('abort', () => resolve('interrupt'), { once: true });
  });
  const onInterrupt = () => {
    leaving.abort();
    lines.close();
  };
  // At a terminal readline turns Ctrl-C into its own event; a signal from elsewhere (kill -INT).
  lines.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  try {
    return await Promise.race([interruption, readTurns(live, lines, io, leaving.signal)]);
  } finally {
    process.off('SIGINT', onInterrupt);
    lines.close();
  }
}

async function readTurns(
  live: LiveCall,
  lines: ReturnType<typeof createInterface>,
  io: ConversationIO,
  leaving: AbortSignal,
): Promise<ConversationEnd> {
  if (io.prompt) lines.prompt();
  for await (const line of lines) {
    const said = line.trim();
    if (said === BYE) return 'bye';
    if (said !== '') await turn(live, said, io, leaving);
    if (io.prompt) lines.prompt();
  }
  return 'eof';
}

/**
 * One user turn to its end: every assistant message of it (a tool's answer included). Once the
 * user has left (Ctrl-C mid-turn), the turn's end is the hang-up's doing: nothing is printed.
 */
async function turn(
  live: LiveCall,
  said: string,
  io: ConversationIO,
  leaving: AbortSignal,
): Promise<void> {
  let replies: string[];
  try {
    const result = live.session.run({ userInput: said });
    await result.wait();
    replies = assistantMessages(result.events);
  } catch (error) {
    if (leaving.aborted) return;
    io.notices.write(
      `chat: no answer: ${describeError(error, io.secrets ?? [])} (LOG_LEVEL=warn shows more)\n`,
    );
    return;
  }
  if (leaving.aborted) return;
  // No answer at all: the framework retried and gave up; why is in its logs, not on this screen.
  if (replies.length === 0) {
    io.notices.write(
      'chat: the assistant did not answer (is OPENAI_BASE_URL reachable? LOG_LEVEL=warn shows why)\n',
    );
  }
  for (const text of replies) io.output.write(`agent: ${text}\n`);
}

function assistantMessages(events: readonly voice.testing.RunEvent[]): string[] {
  return events
    .filter(voice.testing.isChatMessageEvent)
    .map((event) => event.item)
    .filter((message) => message.role === 'assistant')
    .map((message) => (message.textContent ?? '').trim())
    .filter((text) => text !== '');
}
