/**
 * Test equipment: a VAD that hears any frame louder than a threshold as speech. The bundled
 * silero model (@livekit/local-inference) runs offline, but it is trained on human speech and
 * rightly ignores the synthetic tones a test can make: it never fires on them. This one does, so
 * a test can speak to an AgentSession with generated PCM and the real STT → LLM → TTS path.
 */
import { VAD, type VADEvent, VADEventType, VADStream } from '@livekit/agents';
import type { AudioFrame } from '@livekit/rtc-node';

export interface EnergyVADOptions {
  /** RMS level, as a fraction of full scale, at or above which a frame is speech. */
  threshold: number;
  /** Speech this long (ms) starts a turn. */
  minSpeechMs: number;
  /** Silence this long (ms) after speech ends it. */
  minSilenceMs: number;
}

const DEFAULTS: EnergyVADOptions = { threshold: 0.02, minSpeechMs: 60, minSilenceMs: 250 };

export class EnergyVAD extends VAD {
  label = 'test.EnergyVAD';
  readonly options: EnergyVADOptions;

  constructor(options: Partial<EnergyVADOptions> = {}) {
    super({ updateInterval: 20 });
    this.options = { ...DEFAULTS, ...options };
  }

  override get minSilenceDuration(): number {
    return this.options.minSilenceMs;
  }

  stream(): VADStream {
    return new EnergyVADStream(this, this.options);
  }
}

function rms(frame: AudioFrame): number {
  let sum = 0;
  for (const sample of frame.data) sum += (sample / 32_768) ** 2;
  return Math.sqrt(sum / Math.max(1, frame.data.length));
}

class EnergyVADStream extends VADStream {
  constructor(
    vad: VAD,
    private readonly options: EnergyVADOptions,
  ) {
    super(vad);
    void this.#run().catch(() => undefined); // a closed stream ends the loop
  }

  async #run(): Promise<void> {
    let speaking = false;
    let speechMs = 0;
    let silenceMs = 0;
    let samplesIndex = 0;
    let speech: AudioFrame[] = [];
    const event = (type: VADEventType, extra: Partial<VADEvent> = {}): VADEvent => ({
      type,
      samplesIndex,
      timestamp: Date.now(),
      speechDuration: speechMs,
      silenceDuration: silenceMs,
      frames: [],
      probability: 0,
      inferenceDuration: 0,
      speaking,
      rawAccumulatedSilence: silenceMs,
      rawAccumulatedSpeech: speechMs,
      ...extra,
    });
    const reset = () => {
      speaking = false;
      speechMs = 0;
      silenceMs = 0;
      speech = [];
    };

    for (;;) {
      const { done, value } = await this.inputReader.read();
      if (done || this.closed) return;
      if (typeof value === 'symbol') {
        reset(); // a flush is a hard segment boundary
        continue;
      }
      const ms = (value.samplesPerChannel / value.sampleRate) * 1000;
      samplesIndex += value.samplesPerChannel;
      const loud = rms(value) >= this.options.threshold;
      this.sendVADEvent(
        event(VADEventType.INFERENCE_DONE, { frames: [value], probability: loud ? 1 : 0 }),
      );
      if (loud) {
        silenceMs = 0;
        speechMs += ms;
        speech.push(value);
        if (!speaking && speechMs >= this.options.minSpeechMs) {
          speaking = true;
          this.sendVADEvent(event(VADEventType.START_OF_SPEECH, { frames: [...speech] }));
        }
      } else if (speaking) {
        silenceMs += ms;
        speech.push(value);
        if (silenceMs >= this.options.minSilenceMs) {
          speaking = false;
          this.sendVADEvent(event(VADEventType.END_OF_SPEECH, { frames: speech }));
          reset();
        }
      } else {
        reset(); // a click shorter than minSpeechMs is not a turn
      }
    }
  }
}
