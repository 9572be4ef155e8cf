/**
 * Helpers for a dispatcher that stands between Node's fetch and undici's: knowing when a request
 * no longer holds its connection, and ending one that never reached a connection.
 */
import type { Dispatcher } from 'undici';

type Handler = Dispatcher.DispatchHandler;

/** The handler's last call: after it, the request no longer holds its connection. */
const SETTLING = new Set<PropertyKey>([
  'onComplete',
  'onError',
  'onResponseEnd',
  'onResponseError',
]);

/**
 * @param handler - a request's callbacks
 * @param release - called once, when the request is over (answered, failed or aborted)
 * @returns the same handler, calling `release` after its last callback
 */
export function releasingOnSettle(handler: Handler, release: () => void): Handler {
  return new Proxy(handler, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (!SETTLING.has(property)) return value.bind(target);
      return (...args: unknown[]) => {
        try {
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        } finally {
          release();
        }
      };
    },
  });
}

/**
 * Ends a request that never reached a connection, in whichever handler style it speaks.
 *
 * @param handler - the request's callbacks
 * @param error - what it is told
 */
export function fail(handler: Handler, error: Error): void {
  if (handler.onError) handler.onError(error);
  else handler.onResponseError?.(abortedController(error), error);
}

function abortedController(reason: Error): Dispatcher.DispatchController {
  return {
    abort: () => undefined,
    pause: () => undefined,
    resume: () => undefined,
    aborted: true,
    paused: false,
    reason,
  };
}
