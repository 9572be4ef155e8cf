/**
 * The framework worker's own figures, read in the main process: jobs running, the load it last
 * sent LiveKit, whether it drains, whether it is registered. Registration is asked of the
 * framework's health endpoint (`GET /` is 200 only while connected and registered), so `/ready`
 * and `/metrics` can never disagree with it.
 */
import type { AgentServer } from '@livekit/agents';

/** What the worker figures are read from; `AgentServer` has all of it. */
export interface WorkerSource {
  readonly id: string;
  readonly activeJobs: readonly unknown[];
  readonly event: AgentServer['event'];
}

/** How long the health endpoint may take before the worker counts as not registered. */
const HEALTH_TIMEOUT_MS = 1_000;

export class WorkerState {
  #server: WorkerSource | undefined;
  #load: number | undefined;
  #draining = false;
  #registered = false;
  #workerId: string | undefined;

  /**
   * @param healthUrl the framework's health endpoint (`http://127.0.0.1:<HEALTH_PORT>/`)
   * @param fetchHealth how it is asked (tests replace it)
   */
  constructor(
    private readonly healthUrl: string,
    private readonly fetchHealth: typeof fetch = fetch,
  ) {}

  /** @param server the framework's worker, once it runs */
  attach(server: WorkerSource): void {
    this.#server = server;
    server.event.on('worker_registered', (id: string) => (this.#workerId = id));
    server.event.on('worker_msg', (message: unknown) => {
      const update = (message as { message?: { case?: string; value?: { load?: number } } })
        .message;
      if (update?.case === 'updateWorker' && typeof update.value?.load === 'number')
        this.#load = update.value.load;
    });
  }

  /** Called when the worker starts to drain (it never stops draining). */
  markDraining(): void {
    this.#draining = true;
  }

  /** Asks the framework's health endpoint; never throws. */
  async refresh(): Promise<void> {
    try {
      const response = await this.fetchHealth(this.healthUrl, {
        signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS),
      });
      await response.body?.cancel();
      this.#registered =
        response.ok && this.#server !== undefined && this.#server.id !== 'unregistered';
    } catch {
      this.#registered = false;
    }
  }

  /** Registered with LiveKit at the last {@link WorkerState.refresh} (false before any). */
  get registered(): boolean {
    return this.#registered;
  }

  /** The id LiveKit gave at the last registration; undefined before the first. */
  get workerId(): string | undefined {
    return this.#workerId;
  }

  /** True from the start of the drain on. */
  get draining(): boolean {
    return this.#draining;
  }

  /** The load last sent to LiveKit (0 until the first update, every 2.5 s). */
  get load(): number {
    return this.#draining ? 1 : (this.#load ?? 0);
  }

  /** Jobs the framework's worker runs now (0 before it runs). */
  get activeJobs(): number {
    return this.#server?.activeJobs.length ?? 0;
  }
}
