/**
 * Starts call-process.ts for one side against a remote stand-in and talks to it line by line.
 * The child gets a clean environment (never the user's): the stand-in's URL, the test key, and
 * the stand-in's certificate in NODE_EXTRA_CA_CERTS. Node adds those certificates to the trust
 * store every TLS connection without its own `ca` uses, as it does a user's CA bundle: the
 * starter's global dispatcher stays Node's own, untouched. (`setGlobalDispatcher(new Agent(...))`
 * would swap in the npm undici package, a different implementation from the one Node bundles.)
 * The pool gets no `tls` option either: it runs exactly as configured from the environment.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { TEST_SECRETS } from '../../test/support/config.js';
import type { CallCommand, CallSide } from './call-protocol.js';
import type { RemoteOpenAI } from './remote-openai.js';

export interface CallProcess {
  side: CallSide;
  /** Sends one command and resolves with the child's one-line answer. */
  send<T>(command: CallCommand): Promise<T>;
  close(): Promise<void>;
}

export async function startCallProcess(
  side: CallSide,
  remote: Pick<RemoteOpenAI, 'baseURL' | 'ca'>,
  /** Extra environment, e.g. the product's settings for a variant. */
  env: Record<string, string> = {},
): Promise<CallProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-call-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, remote.ca);
  const script = fileURLToPath(new URL('./call-process.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, side], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_EXTRA_CA_CERTS: caFile,
      OPENAI_API_KEY: TEST_SECRETS.openai,
      OPENAI_BASE_URL: remote.baseURL,
      ...env,
    },
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await Promise.race([
      lines.next(),
      exited.then((code) => {
        throw new Error(`${side} call process exited (${code})`);
      }),
    ]);
    if (line.done) throw new Error(`${side} call process closed its output`);
    return line.value;
  };
  try {
    await next(); // ready: prewarm done
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    side,
    async send<T>(command: CallCommand): Promise<T> {
      child.stdin!.write(`${JSON.stringify(command)}\n`);
      return JSON.parse(await next()) as T;
    },
    async close() {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
