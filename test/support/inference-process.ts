/**
 * Test equipment: the framework's shared inference process, started as the worker starts it
 * (`@livekit/agents` worker.ts: the local end-of-turn runner registered, then
 * `InferenceProcExecutor.createIfNeeded()`, `start()`, `initialize()`), so a test's call runs
 * its end-of-turn model where production does. The executor class is not among the package's
 * exports: it is loaded from the package's own files.
 */
import { InferenceRunner, type ipc } from '@livekit/agents';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The method name `@livekit/agents` 1.9 registers its local end-of-turn runner under. */
const EOT_INFERENCE_METHOD = 'lk_eot_audio';

export interface InferenceProcess {
  executor: ipc.InferenceExecutor;
  pid: number | undefined;
  /** Resident memory of the process, in MB (from /proc). */
  rssMB(): number | undefined;
  close(): Promise<void>;
}

interface Executor extends ipc.InferenceExecutor {
  proc?: { pid?: number };
  start(): Promise<void>;
  initialize(): Promise<void>;
  close(): Promise<void>;
}

/**
 * @returns the started inference process, its model loaded
 * @throws when the framework's native inference binding cannot load on this machine
 */
export async function startInferenceProcess(): Promise<InferenceProcess> {
  const dist = dirname(createRequire(import.meta.url).resolve('@livekit/agents'));
  const runner = pathToFileURL(join(dist, 'inference/eot/runner.js')).href;
  if (!InferenceRunner.registeredRunners[EOT_INFERENCE_METHOD])
    InferenceRunner.registerRunner(EOT_INFERENCE_METHOD, runner);
  const module = (await import(
    pathToFileURL(join(dist, 'ipc/inference_proc_executor.js')).href
  )) as { InferenceProcExecutor: { createIfNeeded(): Executor | undefined } };
  const executor = module.InferenceProcExecutor.createIfNeeded();
  if (!executor) throw new Error('no inference runner registered');
  await executor.start();
  await executor.initialize();
  const pid = executor.proc?.pid;
  return {
    executor,
    pid,
    rssMB: () => (pid === undefined ? undefined : residentMB(pid)),
    close: () => executor.close(),
  };
}

function residentMB(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
