/**
 * Test equipment: what the local OpenAI server answers to a chat completion. No model, only a few
 * rules: structured memory extraction, a greeting, tool calls picked by a rule table, a reply
 * that carries a tool's output verbatim, and otherwise an echo.
 */
import type { MEMORY_CATEGORIES } from '../../src/store/memory-store.js';

export type MessageContent = string | { type: string; text?: string }[] | null;

export interface ChatMessageBody {
  role: string;
  content?: MessageContent;
  tool_call_id?: string;
}

export interface ChatRequestBody {
  model?: string;
  messages?: ChatMessageBody[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  tools?: { type: string; function?: { name: string } }[];
  response_format?: { type?: string };
}

export interface ToolCallReply {
  name: string;
  /** The arguments as the model sends them: a JSON string. */
  arguments: string;
}

export interface ChatReply {
  content?: string;
  toolCalls?: ToolCallReply[];
}

export type ChatHandler = (request: ChatRequestBody) => ChatReply | Promise<ChatReply>;

type Category = (typeof MEMORY_CATEGORIES)[number];
interface Memory {
  category: Category;
  key: string;
  value: string;
  confidence: number;
}

export function textOf(content: MessageContent | undefined): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => part.text ?? '').join('');
}

const slug = (text: string) =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const clause = (text: string) =>
  text
    .trim()
    .replace(/[.!?]+$/, '')
    .slice(0, 200);

/** Facts found by regex in one thing the caller said. */
function memoriesIn(said: string): Memory[] {
  const found: Memory[] = [];
  // No `i` flag on the name: with it, \p{Lu} would match any letter.
  const name = /\b(?:[Mm]y name is|[Cc]all me)\s+([\p{L}\p{N}'’-]+(?:\s\p{Lu}[\p{L}'’-]*)?)/u.exec(
    said,
  );
  if (name) found.push(memory('identity', 'name', `Name is ${name[1]}`, 0.95));
  const project = /\bI(?:'m|’m| am) working on (.+?)(?:[.!?]|$)/i.exec(said);
  if (project) {
    found.push(memory('project', 'current_project', `Working on ${clause(project[1]!)}`, 0.9));
  }
  const liking = /\bI (prefer|like|love) (.+?)(?:[.!?]|$)/i.exec(said);
  if (liking) {
    const verb = { prefer: 'Prefers', like: 'Likes', love: 'Loves' }[liking[1]!.toLowerCase()];
    const what = clause(liking[2]!);
    found.push(memory('preference', `favorite_${slug(what)}`, `${verb} ${what}`, 0.85));
  }
  return found;
}

const memory = (category: Category, key: string, value: string, confidence: number): Memory => ({
  category,
  key,
  value,
  confidence,
});

/** The extractor sends `{current_memories, conversation: [{caller, assistant}]}` as user content. */
function extractMemories(request: ChatRequestBody): string {
  const user = [...(request.messages ?? [])].reverse().find((m) => m.role === 'user');
  const raw = textOf(user?.content);
  let said = [raw];
  let current: Partial<Memory>[] = [];
  try {
    const data = JSON.parse(raw) as {
      conversation?: { caller?: string }[];
      current_memories?: Partial<Memory>[];
    };
    if (Array.isArray(data.conversation)) said = data.conversation.map((t) => t.caller ?? '');
    if (Array.isArray(data.current_memories)) current = data.current_memories;
  } catch {
    // Plain text: scan it as it is.
  }
  const known = (m: Memory) => current.some((c) => c.key === m.key && c.value === m.value);
  const memories = said.flatMap(memoriesIn).filter((m) => !known(m));
  return JSON.stringify({ memories });
}

/** A returning caller's greeting, using a name found anywhere in the request. */
function greet(request: ChatRequestBody): string {
  const text = (request.messages ?? []).map((m) => textOf(m.content)).join('\n');
  const name = /\b(?:[Nn]ame is|called)\s+(\p{Lu}[\p{L}'’-]*)/u.exec(text)?.[1];
  return name
    ? `Welcome back, ${name}! How is everything going?`
    : 'Welcome back! How have you been?';
}

type Rule = [pattern: RegExp, tool: string, args: (match: RegExpExecArray) => object];

/** Checked in order: "clean up the connection pool" is a cleanup, not a stats request. */
const TOOL_RULES: Rule[] = [
  [/clean ?up/i, 'cleanupConnectionPool', () => ({})],
  [/connection pool|connections doing|pool stats/i, 'getConnectionPoolStats', () => ({})],
  [/what do you (know|remember)/i, 'recallMemories', () => ({})],
  [
    /forget (?:about )?(?:my )?(.*)/i,
    'forgetMemories',
    (m) =>
      /\b(everything|all)\b/i.test(m[1]!)
        ? { keys: [], everything: true }
        : { keys: [slug(clause(m[1]!)) || 'unknown'], everything: false },
  ],
  [
    /remember (?:that )?(.*)/i,
    'rememberFact',
    (m) => {
      const fact = clause(m[1]!.replace(/^my /i, ''));
      const favorite = /^favou?rite (\w+) is (.+)$/i.exec(fact);
      return favorite
        ? { category: 'preference', key: `favorite_${slug(favorite[1]!)}`, fact: sentence(fact) }
        : {
            category: 'fact',
            key: slug(fact.split(/\s+/).slice(0, 4).join(' ')) || 'fact',
            fact: sentence(fact),
          };
    },
  ],
];

function toolCallFor(request: ChatRequestBody, said: string): ToolCallReply | undefined {
  const offered = new Set((request.tools ?? []).map((t) => t.function?.name));
  for (const [pattern, tool, args] of TOOL_RULES) {
    const match = pattern.exec(said);
    if (match && offered.has(tool)) return { name: tool, arguments: JSON.stringify(args(match)) };
  }
  return undefined;
}

/** Tool messages arrive JSON-encoded ('x' → '"x"'): say the plain text. */
function toolOutput(content: MessageContent | undefined): string {
  const text = textOf(content);
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'string' ? parsed : text;
  } catch {
    return text;
  }
}

export const defaultChatResponder: ChatHandler = (request) => {
  const messages = request.messages ?? [];
  if (request.response_format?.type === 'json_schema') return { content: extractMemories(request) };
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer');
  if (!request.tools?.length && system.some((m) => /greeting/i.test(textOf(m.content)))) {
    return { content: greet(request) };
  }
  const last = messages.at(-1);
  if (last?.role === 'tool') {
    // Every tool result since the model's last turn (parallel calls give several).
    const since = messages.slice(messages.findLastIndex((m) => m.role !== 'tool') + 1);
    return { content: since.map((m) => toolOutput(m.content)).join(' ') };
  }
  const said = last?.role === 'user' ? textOf(last.content) : '';
  const call = said ? toolCallFor(request, said) : undefined;
  if (call) return { toolCalls: [call] };
  return { content: said ? `You said: ${said}` : 'Hello!' };
};
