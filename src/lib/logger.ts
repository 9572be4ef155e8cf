/** The framework's structured logger (pino underneath), as every part of the worker takes it. */
import type { log } from '@livekit/agents';

export type Logger = ReturnType<typeof log>;
