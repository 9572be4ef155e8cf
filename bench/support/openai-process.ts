/** Starts bench/support/serve-openai.ts as a child process and stops it with its stdin. */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { OpenAIServerOptions } from '../../test/support/openai-server.js';

export interface OpenAIProcess {
  baseURL: string;
  port: number;
  close(): Promise<void>;
}

export async function startOpenAIProcess(
  options: OpenAIServerOptions = {},
): Promise<OpenAIProcess> {
  const script = fileURLToPath(new URL('./serve-openai.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`OpenAI server process exited (${code})`)));
  });
  const { baseURL, port } = JSON.parse(line) as { baseURL: string; port: number };
  return {
    baseURL,
    port,
    close: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
