import type { llm } from '@livekit/agents';

/**
 * What a tool's `execute` receives outside a session: these tools read neither the run context
 * nor the signal, so a direct call tests the tool itself (the session path is tested elsewhere).
 */
export function toolOptions(id = 'call_test'): llm.ToolOptions {
  return {
    ctx: {} as llm.ToolOptions['ctx'],
    toolCallId: id,
    abortSignal: new AbortController().signal,
  };
}
