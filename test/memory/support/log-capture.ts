/** A logger that keeps what the product tells it, for tests that count log lines. */
import type { Logger } from '../../../src/lib/logger.js';

export interface LoggedLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * The product logs through the framework's pino logger; this keeps the calls it makes (fields,
 * message), children included, in one list.
 * @returns the logger to pass in, and the lines it received
 */
export function captureLogs(): { logger: Logger; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at =
    (level: LoggedLine['level']) =>
    (fields: Record<string, unknown> | string, msg?: string): void => {
      if (typeof fields === 'string') lines.push({ level, msg: fields, fields: {} });
      else lines.push({ level, msg: msg ?? '', fields });
    };
  const logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return { logger: logger as unknown as Logger, lines };
}
