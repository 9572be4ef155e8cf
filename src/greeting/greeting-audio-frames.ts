/** Prepared greeting audio → the frames `session.say(text, { audio })` plays. */
import { AudioFrame } from '@livekit/rtc-node';
import type { GreetingAudio } from '../store/greeting-store.js';

/** 100 ms per frame, as the OpenAI plugin's TTS hands its audio to the session. */
const FRAME_MS = 100;

/**
 * Cut lazily, a frame per read: the first frame is ready at once, whatever the length.
 * @param audio 16-bit little-endian mono PCM
 * @returns a stream of mono frames at the audio's sample rate; the last one may be shorter
 */
export function greetingAudioFrames(audio: GreetingAudio): ReadableStream<AudioFrame> {
  const samplesPerFrame = Math.round((audio.sampleRate * FRAME_MS) / 1000);
  const totalSamples = Math.floor(audio.pcm.byteLength / 2);
  const view = new DataView(audio.pcm.buffer, audio.pcm.byteOffset, totalSamples * 2);
  let next = 0;
  return new ReadableStream<AudioFrame>({
    pull(controller) {
      if (next >= totalSamples) {
        controller.close();
        return;
      }
      const count = Math.min(samplesPerFrame, totalSamples - next);
      const samples = new Int16Array(count);
      // Read sample by sample: the bytes may sit at an odd offset, and are little-endian.
      for (let i = 0; i < count; i++) samples[i] = view.getInt16((next + i) * 2, true);
      next += count;
      controller.enqueue(new AudioFrame(samples, audio.sampleRate, 1, count));
    },
  });
}
