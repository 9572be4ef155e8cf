import type { Scenario } from '../harness.js';
import { bargeIn } from './barge-in.js';
import { batchedWrites } from './batched-writes.js';
import { callTurns } from './call-turns.js';
import { connections } from './connections.js';
import { greetingAudio } from './greeting-audio.js';
import { greeting } from './greeting.js';
import { idleGap } from './idle-gap.js';
import { lateCall } from './late-call.js';
import { metricsOverhead } from './metrics-overhead.js';
import { metricsScrape } from './metrics-scrape.js';
import { overhead } from './overhead.js';
import { parallelLlm } from './parallel-llm.js';
import { poolBuild } from './pool-build.js';
import { recallAtScale } from './recall-at-scale.js';
import { scale } from './scale.js';
import { spokenTurn } from './spoken-turn.js';
import { voiceLane } from './voice-lane.js';
import { voicePath } from './voice-path.js';

/** In the order the issue lists them. */
export const scenarios: Scenario[] = [
  callTurns,
  lateCall,
  connections,
  bargeIn,
  idleGap,
  parallelLlm,
  batchedWrites,
  greeting,
  greetingAudio,
  voicePath,
  spokenTurn,
  poolBuild,
  scale,
  overhead,
  recallAtScale,
  voiceLane,
  metricsOverhead,
  metricsScrape,
];
