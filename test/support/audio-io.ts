/**
 * Test equipment: a session's ears and mouth without a room. `PushAudioInput` is a microphone the
 * test speaks into with generated PCM; `SpeechCapture` plays a `QueueAudioOutput` out instantly,
 * telling the session when each segment starts and finishes, as a real player must.
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

/** A tone loud enough for `EnergyVAD`: the "speech" a test says. */
export const tone = (ms: number, sampleRate = 16_000, level = 0.3) =>
  frames(ms, sampleRate, (i) => level * Math.sin((2 * Math.PI * 180 * i) / sampleRate));

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

  constructor(readonly output: voice.QueueAudioOutput) {
    output.on('clear_buffer', ({ wasCapturing }: voice.QueueAudioOutputClearEvent) => {
      if (!wasCapturing || !this.#current) return;
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

  /** Resolves once `count` segments have finished playing. */
  waitForSegments(count: number, timeoutMs: number): Promise<SpokenSegment[]> {
    return this.#until(
      () => (this.segments.length >= count ? this.segments.slice(0, count) : undefined),
      timeoutMs,
      () => `${this.segments.length} of ${count} speech segments`,
    );
  }
}
