/**
 * Test equipment: a session's ears and mouth without a room. `PushAudioInput` is a microphone the
 * test speaks into with PCM (real speech from `spoken-audio.ts`, or silence and noise);
 * `SpeechCapture` plays a `QueueAudioOutput` out, instantly or in real time (so that the caller
 * can talk over it), telling the session when each segment starts and finishes, as a real
 * player must.
 */
import { stream, voice } from '@livekit/agents';
import { AudioFrame } from '@livekit/rtc-node';
import { setTimeout as delay } from 'node:timers/promises';

const FRAME_MS = 20;

export class PushAudioInput extends voice.AudioInput {
  readonly #channel = stream.createStreamChannel<AudioFrame>();

  constructor() {
    super();
    this.multiStream.addInputStream(this.#channel.stream());
  }

  /** Sends the frames, `speed` times faster than real time. */
  async speak(frames: readonly AudioFrame[], speed = 4): Promise<void> {
    for (const frame of frames) {
      await this.#channel.write(frame);
      await delay((frame.samplesPerChannel / frame.sampleRate) * (1000 / speed));
    }
  }

  override async close(): Promise<void> {
    await this.#channel.close();
    await super.close();
  }
}

function frames(ms: number, sampleRate: number, sample: (i: number) => number): AudioFrame[] {
  const perFrame = (sampleRate * FRAME_MS) / 1000;
  const out: AudioFrame[] = [];
  let i = 0;
  for (let t = 0; t < ms; t += FRAME_MS) {
    const data = new Int16Array(perFrame);
    for (let j = 0; j < perFrame; j++, i++) data[j] = Math.round(sample(i) * 32_767);
    out.push(new AudioFrame(data, sampleRate, 1, perFrame));
  }
  return out;
}

/** A steady hum: loud, and not speech. */
export const tone = (ms: number, sampleRate = 16_000, level = 0.3) =>
  frames(ms, sampleRate, (i) => level * Math.sin((2 * Math.PI * 180 * i) / sampleRate));

/** Steady white noise (a fan, a line's hiss), from a seeded generator: the same every run. */
export function noise(ms: number, sampleRate = 16_000, level = 0.05, seed = 7) {
  let state = seed;
  const next = () => {
    // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return frames(ms, sampleRate, () => level * (2 * next() - 1));
}

export const silence = (ms: number, sampleRate = 16_000) => frames(ms, sampleRate, () => 0);

export interface SpokenSegment {
  /** performance.now() of the first frame. */
  firstFrameAt: number;
  finishedAt?: number;
  frames: number;
  samples: number;
  sampleRate: number;
  interrupted: boolean;
}

export const durationMs = (segment: SpokenSegment) => (segment.samples / segment.sampleRate) * 1000;

export class SpeechCapture {
  readonly segments: SpokenSegment[] = [];
  #current: SpokenSegment | undefined;
  #interrupted = false;
  readonly #listeners = new Set<() => void>();

  /**
   * @param output the session's audio output
   * @param options `realTime`: each segment takes as long to play as it lasts (the agent is
   *   "speaking" meanwhile, and can be interrupted); otherwise it plays out at once
   */
  constructor(
    readonly output: voice.QueueAudioOutput,
    readonly options: { realTime?: boolean } = {},
  ) {
    output.on('clear_buffer', ({ wasCapturing }: voice.QueueAudioOutputClearEvent) => {
      // In real time the whole answer may be queued already (the TTS finished): what is still
      // playing is interrupted all the same.
      if (!this.#current || (!wasCapturing && !this.options.realTime)) return;
      this.#interrupted = true;
      this.output.notifyPlaybackFinished(durationMs(this.#current) / 1000, true);
    });
    void this.#read();
  }

  async #read(): Promise<void> {
    for await (const item of this.output.stream()) {
      if (item instanceof voice.AudioSegmentEnd) {
        const segment = this.#current;
        this.#current = undefined;
        if (!segment) continue;
        segment.finishedAt = performance.now();
        segment.interrupted = this.#interrupted;
        if (!this.#interrupted)
          this.output.notifyPlaybackFinished(durationMs(segment) / 1000, false);
        this.#interrupted = false;
        this.segments.push(segment);
        this.#notify();
        continue;
      }
      // Frames queued before an interruption are never played.
      if (this.#interrupted) continue;
      if (!this.#current) {
        this.#current = {
          firstFrameAt: performance.now(),
          frames: 0,
          samples: 0,
          sampleRate: item.sampleRate,
          interrupted: false,
        };
        this.output.notifyPlaybackStarted();
        this.#notify();
      }
      this.#current.frames++;
      this.#current.samples += item.samplesPerChannel;
      if (this.options.realTime) {
        const playedUntil = this.#current.firstFrameAt + durationMs(this.#current);
        await delay(Math.max(0, playedUntil - performance.now()));
      }
    }
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #until<T>(check: () => T | undefined, timeoutMs: number, what: () => string): Promise<T> {
    return new Promise((resolve, reject) => {
      const poll = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        this.#listeners.delete(poll);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.#listeners.delete(poll);
        reject(new Error(`${what()} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#listeners.add(poll);
      poll();
    });
  }

  /** performance.now() of the first frame ever played (the session's first words). */
  firstFrame(timeoutMs: number): Promise<number> {
    return this.#until(
      () => (this.segments[0] ?? this.#current)?.firstFrameAt,
      timeoutMs,
      () => 'no audio',
    );
  }

  /** performance.now() of the first frame of the `count`-th segment, once it plays. */
  segmentStarted(count: number, timeoutMs: number): Promise<number> {
    return this.#until(
      () =>
        this.segments[count - 1]?.firstFrameAt ??
        (this.segments.length === count - 1 ? this.#current?.firstFrameAt : undefined),
      timeoutMs,
      () => `segment ${count} not started`,
    );
  }

  /** Resolves once `count` segments have finished playing. */
  waitForSegments(count: number, timeoutMs: number): Promise<SpokenSegment[]> {
    return this.#until(
      () => (this.segments.length >= count ? this.segments.slice(0, count) : undefined),
      timeoutMs,
      () => `${this.segments.length} of ${count} speech segments`,
    );
  }
}
