/**
 * Test equipment: the local server's default replies, except that every memory an extraction
 * call returns carries the call's serial number ("Likes tea #12"). A turn that is extracted and
 * stored twice then writes a different value the second time, which the store keeps as a
 * superseded row: duplicates become visible in the rows instead of being absorbed as "unchanged".
 */
import {
  type ChatHandler,
  type ChatReply,
  type ChatRequestBody,
  defaultChatResponder,
} from '../../support/openai-chat-responder.js';

export interface SerialExtraction {
  handler: ChatHandler;
  /** Extraction calls answered so far. */
  readonly calls: number;
  /** Holds every extraction reply until `release()` (the request stays in flight). */
  hold(): void;
  release(): void;
  /** Extraction requests that arrived while held and are waiting. */
  readonly waiting: number;
}

const isExtraction = (request: ChatRequestBody) => request.response_format?.type === 'json_schema';

export function serialExtraction(inner: ChatHandler = defaultChatResponder): SerialExtraction {
  let calls = 0;
  let waiting = 0;
  let gate: { promise: Promise<void>; open: () => void } | undefined;
  const state = {
    handler: async (request: ChatRequestBody): Promise<ChatReply> => {
      if (!isExtraction(request)) return inner(request);
      if (gate) {
        waiting++;
        try {
          await gate.promise;
        } finally {
          waiting--;
        }
      }
      const serial = ++calls;
      const reply = await inner(request);
      const body = JSON.parse(reply.content ?? '{"memories": []}') as {
        memories: { value: string }[];
      };
      for (const memory of body.memories) memory.value = `${memory.value} #${serial}`;
      return { content: JSON.stringify(body) };
    },
    get calls() {
      return calls;
    },
    get waiting() {
      return waiting;
    },
    hold() {
      if (gate) return;
      let open!: () => void;
      const promise = new Promise<void>((resolve) => (open = resolve));
      gate = { promise, open };
    },
    release() {
      gate?.open();
      gate = undefined;
    },
  };
  return state;
}
