/**
 * The turn collector: what the caller said and the assistant's reply become one finished turn
 * for the memory processor. Messages are fed in directly, or through a stand-in session that
 * emits the framework's own conversation events (no room, no models).
 */
import { llm, voice } from '@livekit/agents';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { type FinishedTurn, TurnCollector } from '../../../src/call/turn-collector.js';

function collect(): { collector: TurnCollector; turns: FinishedTurn[] } {
  const turns: FinishedTurn[] = [];
  return { collector: new TurnCollector((turn) => turns.push(turn)), turns };
}

describe('collecting turns from messages', () => {
  it('a caller message and the reply to it make one turn, handed on at the reply', () => {
    const { collector, turns } = collect();
    collector.add('user', 'My name is Maya.');
    expect(turns).toEqual([]);
    collector.add('assistant', 'Nice to meet you, Maya.');
    expect(turns).toEqual([
      { userText: 'My name is Maya.', assistantText: 'Nice to meet you, Maya.' },
    ]);
  });

  it('turns come out in the order they were said', () => {
    const { collector, turns } = collect();
    for (const n of [1, 2, 3]) {
      collector.add('user', `question ${n}`);
      collector.add('assistant', `answer ${n}`);
    }
    expect(turns.map((t) => t.userText)).toEqual(['question 1', 'question 2', 'question 3']);
    expect(turns.map((t) => t.assistantText)).toEqual(['answer 1', 'answer 2', 'answer 3']);
  });

  it('what the caller says twice before a reply is one turn, line by line', () => {
    const { collector, turns } = collect();
    collector.add('user', 'I like tea.');
    collector.add('user', 'Green tea, mostly.');
    collector.add('assistant', 'Noted.');
    expect(turns).toEqual([
      { userText: 'I like tea.\nGreen tea, mostly.', assistantText: 'Noted.' },
    ]);
  });

  it('a reply nobody asked for (the greeting) is not a turn', () => {
    const { collector, turns } = collect();
    collector.add('assistant', 'Welcome back, Maya!');
    collector.add('user', 'Hi.');
    collector.add('assistant', 'How can I help?');
    expect(turns).toEqual([{ userText: 'Hi.', assistantText: 'How can I help?' }]);
  });

  it('blank messages and other roles are ignored', () => {
    const { collector, turns } = collect();
    collector.add('user', '   ');
    collector.add('assistant', 'Are you there?');
    collector.add('system', 'You are a helpful assistant.');
    collector.add('developer', 'Be brief.');
    collector.add('user', 'Yes.');
    collector.add('assistant', ' \n ');
    expect(turns).toEqual([]);
    collector.add('assistant', 'Good.');
    expect(turns).toEqual([{ userText: 'Yes.', assistantText: 'Good.' }]);
  });

  it('at the end, the caller’s last words count without a reply; nothing left, nothing handed on', () => {
    const { collector, turns } = collect();
    collector.add('user', 'Remember I moved to Lisbon.');
    collector.finish();
    expect(turns).toEqual([{ userText: 'Remember I moved to Lisbon.', assistantText: '' }]);
    collector.finish();
    expect(turns).toHaveLength(1);
  });
});

describe('collecting turns from a session', () => {
  /** Emits what an AgentSession emits when an item joins the conversation. */
  class StandInSession extends EventEmitter {
    say(item: llm.ChatMessage | llm.AgentHandoffItem): void {
      this.emit(
        voice.AgentSessionEventTypes.ConversationItemAdded,
        voice.createConversationItemAddedEvent(item),
      );
    }
  }

  const message = (role: llm.ChatRole, content: string) =>
    llm.ChatMessage.create({ role, content });

  it('reads chat messages from the session’s events (a hand-off between them changes nothing) and stops when detached', () => {
    const { collector, turns } = collect();
    const session = new StandInSession();
    const detach = collector.attach(session as unknown as voice.AgentSession);

    session.say(message('user', 'What do you remember?'));
    session.say(llm.AgentHandoffItem.create({ newAgentId: 'assistant' }));
    session.say(message('assistant', 'That you like tea.'));
    expect(turns).toEqual([
      { userText: 'What do you remember?', assistantText: 'That you like tea.' },
    ]);

    detach();
    expect(session.listenerCount(voice.AgentSessionEventTypes.ConversationItemAdded)).toBe(0);
    session.say(message('user', 'Bye.'));
    session.say(message('assistant', 'Bye!'));
    expect(turns).toHaveLength(1);
  });
});
