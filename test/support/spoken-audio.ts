/**
 * Test equipment: real speech, synthesised at test time by espeak-ng (Debian's `espeak-ng`
 * package, which `.ci/run` installs; no downloaded voice data). Silero hears it as speech, where
 * it ignores a tone.
 */
import { AudioFrame } from '@livekit/rtc-node';
import { execFileSync } from 'node:child_process';

const FRAME_MS = 20;

/**
 * @param text what the caller says
 * @param options espeak-ng's speed in words per minute (its default 175) and voice
 * @returns 20 ms mono frames at espeak-ng's own rate (22,050 Hz), as a microphone delivers them
 * @throws when espeak-ng is not installed (the message says how to install it)
 */
export function speak(text: string, options: { wordsPerMinute?: number; voice?: string } = {}) {
  let wav: Buffer;
  try {
    wav = execFileSync(
      'espeak-ng',
      [
        '--stdout',
        '-s',
        String(options.wordsPerMinute ?? 175),
        '-v',
        options.voice ?? 'en-us',
        text,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
  } catch (error) {
    throw new Error('espeak-ng is needed for the speech tests: apt-get install espeak-ng', {
      cause: error,
    });
  }
  return framesOfWav(wav);
}

/** 16-bit mono PCM WAV → 20 ms frames (espeak-ng writes an open-ended RIFF size: read `data` to the end). */
function framesOfWav(wav: Buffer): AudioFrame[] {
  if (wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE')
    throw new Error('espeak-ng did not write a WAV file');
  const sampleRate = wav.readUInt32LE(24);
  const dataAt = wav.indexOf('data', 12, 'ascii') + 8;
  const pcm = new Int16Array(
    wav.buffer.slice(
      wav.byteOffset + dataAt,
      wav.byteOffset + wav.length - ((wav.length - dataAt) % 2),
    ),
  );
  const perFrame = (sampleRate * FRAME_MS) / 1000;
  const frames: AudioFrame[] = [];
  for (let i = 0; i < pcm.length; i += perFrame) {
    const data = new Int16Array(perFrame);
    data.set(pcm.subarray(i, Math.min(i + perFrame, pcm.length)));
    frames.push(new AudioFrame(data, sampleRate, 1, perFrame));
  }
  return frames;
}
