/**
 * Services registering with the pool, with fake services and a fake fetch: clients built only for
 * configured services, rebuilt on demand, traffic counted per service, and an answered request's
 * abort replaced only for a service that asks for it.
 */
import type { Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../src/config/config.js';
import { AbortRecovery } from '../../../src/pool/abort-recovery.js';
import type { PoolService } from '../../../src/pool/pool-service.js';
import { ServiceRegistry } from '../../../src/pool/service-registry.js';

const config = { fake: 'config' } as unknown as Config;

type Settings = 'isConfigured' | 'keepWarmConnections' | 'replaceAfterAbort';

function fakeService(name: string, overrides: Partial<Pick<PoolService<unknown>, Settings>> = {}) {
  let built = 0;
  const service = {
    name,
    isConfigured: () => true,
    build: vi.fn(() => ({ id: ++built })),
    ping: vi.fn(async (_client: { id: number }, _context: unknown, _signal?: AbortSignal) => 'ok'),
    warmUpRequests: 1,
    keepWarmConnections: 2,
    replaceAfterAbort: false,
    ...overrides,
  } satisfies PoolService<{ id: number }>;
  return service;
}

function registry(running = 1) {
  const dispatcher = {} as Dispatcher;
  const abortRecovery = new AbortRecovery({ runningRequests: () => running, closed: () => false });
  return new ServiceRegistry({
    config,
    dispatcher: () => dispatcher,
    pingTimeoutMs: 3_000,
    abortRecovery,
  });
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('ServiceRegistry', () => {
  it('builds a configured service once, on its counted fetch; an unconfigured one keeps its place', () => {
    const services = registry();
    const api = fakeService('api');
    const absent = fakeService('absent', { isConfigured: () => false });
    services.register(api);
    services.register(absent);
    expect(services.client(api)).toEqual({ id: 1 });
    expect(api.build).toHaveBeenCalledWith({ config, fetch: services.fetchFor('api') });
    expect(services.client(absent)).toBeUndefined();
    expect(absent.build).not.toHaveBeenCalled();
    expect(services.list().map(({ name, configured }) => [name, configured])).toEqual([
      ['api', true],
      ['absent', false],
    ]);
    expect(services.configured().map((s) => s.name)).toEqual(['api']);
    expect(services.fetchFor('absent')).toBeTypeOf('function');
    expect(() => services.ping('absent')).toThrow(/not configured/);
  });

  it('refuses a second service of the same name and a fetch for an unknown one', () => {
    const services = registry();
    services.register(fakeService('api'));
    expect(() => services.register(fakeService('api'))).toThrow(/already registered/);
    expect(() => services.fetchFor('nobody')).toThrow(/no service nobody/);
    expect(services.client(fakeService('api'))).toBeUndefined(); // another definition, same name
  });

  it('rebuilds a configured client on demand; pings then use the new one', async () => {
    const services = registry();
    const api = fakeService('api');
    services.register(api);
    expect(services.rebuild('api')).toBe(true);
    expect(services.rebuild('nobody')).toBe(false);
    expect(services.client(api)).toEqual({ id: 2 });
    await services.ping('api');
    expect(api.ping.mock.calls[0]![0]).toEqual({ id: 2 });
  });

  it('hands keep-warm each service with its own connections and a deadline on its ping', async () => {
    const services = registry();
    const api = fakeService('api', { keepWarmConnections: 1 });
    services.register(api);
    const [warmable] = services.warmable(3_000);
    expect(warmable).toMatchObject({ name: 'api', connections: 1 });
    await warmable!.warm();
    expect(api.ping.mock.calls[0]![2]).toBeInstanceOf(AbortSignal);
  });

  it('counts requests, errors and in-flight per service as they pass its fetch', async () => {
    const statuses = [200, 503, 429];
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('{}', { status: statuses.shift() ?? 200 })),
    );
    const services = registry();
    services.register(fakeService('api'));
    services.register(fakeService('other'));
    const fetch = services.fetchFor('api');
    for (let i = 0; i < 3; i++) await fetch('http://127.0.0.1/x');
    await expect(services.fetchFor('api')('http://127.0.0.1/x')).resolves.toBeInstanceOf(Response);
    const [api, other] = services.list();
    expect(api!.metrics.snapshot()).toMatchObject({ requests: 4, errors: 2, inFlight: 0 });
    expect(other!.metrics.requests).toBe(0);
  });

  it("replaces an answered, aborted request's connection only for a service that asks", async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response('{}')),
    );
    const services = registry(1);
    const streaming = fakeService('streaming', { replaceAfterAbort: true });
    const plain = fakeService('plain');
    services.register(streaming);
    services.register(plain);
    for (const name of ['streaming', 'plain']) {
      const controller = new AbortController();
      await services.fetchFor(name)('http://127.0.0.1/x', { signal: controller.signal });
      controller.abort(); // a barge-in, after the answer's headers
      await vi.advanceTimersByTimeAsync(0);
    }
    expect(streaming.ping).toHaveBeenCalledTimes(1);
    expect(plain.ping).not.toHaveBeenCalled();
    // The replacement has a deadline of its own: hung, it cannot hold a voice connection long.
    expect(streaming.ping.mock.calls[0]![2]).toBeInstanceOf(AbortSignal);
  });
});

describe('ServiceRegistry lanes', () => {
  /** A registry whose lanes are each its own (fake) dispatcher, as the fetch sees them. */
  function laned() {
    const lanes = { voice: { lane: 'voice' }, background: { lane: 'background' } };
    const abortRecovery = new AbortRecovery({ runningRequests: () => 0, closed: () => false });
    const services = new ServiceRegistry({
      config,
      dispatcher: (lane) => lanes[lane] as unknown as Dispatcher,
      pingTimeoutMs: 3_000,
      abortRecovery,
    });
    return { services };
  }

  it('builds a voice service twice: on its lane, and on the background lane for background work', () => {
    const { services } = laned();
    const voice = { ...fakeService('voice'), lane: 'voice' as const };
    services.register(voice);
    expect(voice.build).toHaveBeenCalledTimes(2);
    expect(services.client(voice)).toEqual({ id: 1 });
    expect(services.backgroundClient(voice)).toEqual({ id: 2 });
    const background = fakeService('store');
    services.register(background);
    expect(background.build).toHaveBeenCalledTimes(1);
    expect(services.backgroundClient(background)).toBe(services.client(background));
  });

  it('sends a health check during a call on the background lane only; pings stay on the voice lane', async () => {
    // Which lane each request went out on, read from the dispatcher its fetch was handed.
    const sentOn: string[] = [];
    let answerTurn: (() => void) | undefined;
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string, init: { dispatcher: { lane: string } }) => {
        sentOn.push(init.dispatcher.lane);
        if (url.endsWith('/turn')) await new Promise<void>((r) => (answerTurn = r));
        return new Response('{}');
      }),
    );
    const { services } = laned();
    const voice = {
      ...fakeService('voice'),
      lane: 'voice' as const,
      ping: vi.fn(
        async (_client: { id: number }, context: { fetch: typeof fetch }, signal?: AbortSignal) =>
          context.fetch('http://127.0.0.1/models', signal ? { signal } : {}),
      ),
    };
    services.register(voice);
    // A call's turn holds a voice connection; health checks come during it and between turns.
    const turn = services.fetchFor('voice')('http://127.0.0.1/turn');
    await vi.advanceTimersByTimeAsync(0);
    await services.check('voice');
    answerTurn!();
    await turn;
    await services.check('voice');
    expect(sentOn).toEqual(['voice', 'background', 'background']);
    expect(voice.ping.mock.calls.map(([client]) => client)).toEqual([{ id: 2 }, { id: 2 }]);
    // Keep-warm and warm-up warm the service's own lane, always with a deadline.
    await services.ping('voice');
    expect(sentOn.at(-1)).toBe('voice');
    expect(voice.ping.mock.calls.at(-1)![0]).toEqual({ id: 1 });
    expect(voice.ping.mock.calls.at(-1)![2]).toBeInstanceOf(AbortSignal);
  });
});
