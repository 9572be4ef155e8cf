import { initializeLogger } from '@livekit/agents';

// The framework's log() throws until a logger exists; tests want it quiet.
initializeLogger({ pretty: false, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
