/**
 * Listens to a session's conversation and hands each finished turn (what the caller said, and
 * the assistant's reply) to the memory processor. Listening never blocks the voice loop.
 */
import { llm, voice } from '@livekit/agents';

export interface FinishedTurn {
  userText: string;
  assistantText: string;
}

export class TurnCollector {
  #user: string[] = [];

  /** @param onTurn called once per finished turn, synchronously: keep it cheap (enqueue). */
  constructor(private readonly onTurn: (turn: FinishedTurn) => void) {}

  /** Subscribes to the session; returns the unsubscribe function. */
  attach(session: voice.AgentSession): () => void {
    const listener = (event: voice.ConversationItemAddedEvent) => {
      if (event.item instanceof llm.ChatMessage)
        this.add(event.item.role, event.item.textContent ?? '');
    };
    session.on(voice.AgentSessionEventTypes.ConversationItemAdded, listener);
    return () => session.off(voice.AgentSessionEventTypes.ConversationItemAdded, listener);
  }

  /**
   * One message of the conversation, in order. A turn ends at the assistant's reply; caller
   * messages before it (the caller went on speaking) join into that one turn.
   * @param role `user` or `assistant` (others are ignored)
   * @param text the message's text; blank text is ignored
   */
  add(role: string, text: string): void {
    if (text.trim() === '') return;
    if (role === 'user') {
      this.#user.push(text);
    } else if (role === 'assistant' && this.#user.length > 0) {
      this.#emit(text);
    }
  }

  /** At session end: a caller's last words count even without a reply. */
  finish(): void {
    if (this.#user.length > 0) this.#emit('');
  }

  #emit(assistantText: string): void {
    const turn = { userText: this.#user.join('\n'), assistantText };
    this.#user = [];
    this.onTurn(turn);
  }
}
