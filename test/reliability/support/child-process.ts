/** Runs `memory-child.ts` as a real OS process and follows what it says. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./memory-child.ts', import.meta.url));

export interface ChildLine {
  text: string;
  json?: Record<string, unknown> | undefined;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

export class MemoryChild {
  readonly lines: ChildLine[] = [];
  /** Everything the process wrote, stdout and stderr: scanned for secrets. */
  output = '';
  readonly exited: Promise<ChildExit>;
  readonly #process: ChildProcess;
  #waiters: (() => void)[] = [];

  constructor(env: Record<string, string>) {
    this.#process = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    this.#process.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
      partial += chunk;
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      for (const text of complete) {
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not a JSON line
        }
        this.lines.push({ text, json });
      }
      this.#notify();
    });
    this.#process.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) =>
      this.#process.once('exit', (code, signal) => {
        this.#notify();
        resolve({ code, signal, at: performance.now() });
      }),
    );
  }

  get pid(): number {
    return this.#process.pid!;
  }

  get running(): boolean {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /** The first `{"child": event}` line (waits for it; fails if the process exits first). */
  async event(event: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((l) => l.json?.child === event)?.json;
      if (found) return found;
      if (!this.running) {
        throw new Error(`child exited before "${event}":\n${this.output.slice(-3_000)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${event}" from the child in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  signal(signal: NodeJS.Signals): number {
    this.#process.kill(signal);
    return performance.now();
  }

  /** For cleanup: gone, whatever state it is in. */
  async kill(): Promise<void> {
    if (this.running) this.#process.kill('SIGKILL');
    await this.exited;
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
