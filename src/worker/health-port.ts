/**
 * The framework binds its health server (`GET /`, `GET /worker`) after it has forked its
 * processes, and a port already in use ends the worker with an uncaught `EADDRINUSE` stack. The
 * worker checks the port first, before anything starts, and says what to change.
 */
import { createServer } from 'node:net';

/** The framework's health server listens on every interface (`ServerOptions.host`). */
export const HEALTH_HOST = '0.0.0.0';

/**
 * Binds the port for a moment and lets it go. Another process can still take it between this
 * check and the framework's own bind: that narrow race ends the framework's way.
 *
 * @param port the health port (`HEALTH_PORT`), 1–65535
 * @param host the address the framework binds
 * @returns undefined when the port is free; otherwise the one line an operator needs
 */
export async function healthPortProblem(
  port: number,
  host: string = HEALTH_HOST,
): Promise<string | undefined> {
  const server = createServer();
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    server.once('error', resolve);
    server.listen({ port, host, exclusive: true }, () => resolve(undefined));
  });
  if (!failure) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return undefined;
  }
  const where = `${host}:${port}`;
  switch (failure.code) {
    case 'EADDRINUSE':
      return `the health port ${port} is already in use (${where}): set HEALTH_PORT to a free port, or stop what holds it`;
    case 'EACCES':
      return `the health port ${port} needs privileges this user lacks (${where}): set HEALTH_PORT to 1024 or above`;
    default:
      return `the health port ${port} cannot be opened (${where}, ${failure.code ?? failure.message}): set HEALTH_PORT to another port`;
  }
}
