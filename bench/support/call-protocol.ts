/** The lines the benchmark and a call process (call-process.ts) exchange, one JSON object each. */
import type { TurnTimes } from './voice-turn.js';

export type CallSide = 'starter' | 'pool';

export type CallCommand =
  | {
      do: 'call';
      /** Silence before each turn (the first: from the session's start), one per turn. */
      pausesMs: number[];
      /** The caller's utterance each turn, sent to the STT. */
      utteranceSeconds: number;
      /** 1-based turn the caller interrupts, after this many content chunks of the reply. */
      bargeInTurn: number;
      bargeInAfterChunks: number;
    }
  | {
      do: 'burst';
      calls: number;
      concurrency: number;
      /**
       * `shared`: the side's one client (the starter's on the global dispatcher, or the pool's).
       * `fresh-dispatcher`: the naive way, a new undici Agent (and client) per call, closed after it.
       */
      client: 'shared' | 'fresh-dispatcher';
    };

export interface TurnResult extends TurnTimes {
  /** Connections opened while the turn ran: each one a TCP and a TLS handshake on the voice path. */
  handshakes: number;
  /** Connections opened in the pause before the turn (off the voice path: a pool's replacement). */
  handshakesWhileIdle: number;
}

export interface CallResult {
  turns: TurnResult[];
  /** Every connection the session opened, its prewarm included. */
  connections: number;
  /** TLS handshakes that resumed a session, since the process started. */
  resumedTls: number;
}

export interface BurstResult {
  ms: number;
  /** CPU time the process used meanwhile (all its threads). */
  cpuMs: number;
  connections: number;
  /** Every connection the process opened, its prewarm included. */
  connectionsSinceStart: number;
}
