/**
 * The canonical request/response/stream form the core works on.
 *
 * Wire formats (OpenAI, Anthropic) translate to and from this form in
 * `openai.ts` and `anthropic.ts`. The core never looks at a wire body except
 * through these types, so a client speaking one protocol can be served by an
 * upstream speaking the other.
 */

/** The protocol a client spoke, or an upstream speaks. */
export type Protocol = 'openai' | 'anthropic';

/** Which API operation a request is. */
export type Operation = 'chat' | 'completion' | 'embedding';

export type Role = 'system' | 'user' | 'assistant' | 'tool';

export type ContentPart =
  | { type: 'text'; text: string }
  /** `url` is an http(s) URL or a `data:` URL; `mediaType` is set when known. */
  | { type: 'image'; url: string; mediaType?: string };

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments, exactly as the model produced it. */
  arguments: string;
}

export interface CanonicalMessage {
  role: Role;
  /** Plain text or parts. Assistant turns that only call tools have `''`. */
  content: string | ContentPart[];
  /** Assistant tool calls. */
  toolCalls?: ToolCall[];
  /** For role `tool`: the call this message answers. */
  toolCallId?: string;
  /** Optional participant name (OpenAI `name`). */
  name?: string;
  /** For role `tool`: the tool failed (Anthropic `tool_result.is_error`). */
  isError?: boolean;
}

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the parameters. */
  parameters: Record<string, unknown>;
  /** OpenAI strict schema adherence (`function.strict`). */
  strict?: boolean;
}

export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name?: string; schema: Record<string, unknown>; strict?: boolean };

export interface CanonicalRequest {
  operation: Operation;
  /** The protocol the client spoke; responses are rendered back in it. */
  protocol: Protocol;
  /** The model the client asked for (may be virtual, e.g. `switchyard/auto`). */
  model: string;
  /** The system prompt, joined (Anthropic `system`, OpenAI system/developer turns). */
  system?: string;
  /** Conversation without system turns. For `completion`, one user turn holding the prompt. */
  messages: CanonicalMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
  stream: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stop?: string[];
  /** Embedding inputs, for `operation: 'embedding'`. */
  input?: string[];
  /** End-user id (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
  /**
   * Parameters with no canonical field (seed, logprobs, top_k, n, ...).
   * They are forwarded when the upstream speaks the client's protocol and
   * are part of the cache key.
   */
  extra: Record<string, unknown>;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface CanonicalResponse {
  id: string;
  /** The model that actually answered. */
  model: string;
  /** Unix seconds. */
  created: number;
  text: string;
  toolCalls?: ToolCall[];
  finishReason: FinishReason;
  usage?: Usage;
  /**
   * The upstream named no finish reason it is known to end an answer with
   * (`null`, absent, or an unknown value; `finishReason` then reads `stop`
   * for rendering). The answer may be partial and is never cached.
   */
  finishUnknown?: true;
  /** How many choices the upstream returned when more than one (OpenAI `n`); only the first is canonical. */
  choices?: number;
}

export interface CanonicalEmbeddingResponse {
  model: string;
  vectors: number[][];
  usage?: Usage;
}

/** One event of a streamed answer, in the order a client must see them. */
export type StreamEvent =
  | { type: 'start'; id: string; model: string; created: number }
  | { type: 'text'; text: string }
  /** A tool call begins (`id`, `name`) and/or its argument text grows. */
  | { type: 'tool'; index: number; id?: string; name?: string; argumentsDelta?: string }
  /** `unknown`: the upstream's reason is not one known to end an answer (see `CanonicalResponse.finishUnknown`). */
  | { type: 'finish'; reason: FinishReason; unknown?: true }
  | { type: 'usage'; usage: Usage }
  /** An in-band error: the stream is not a complete answer. */
  | { type: 'error'; message: string; code?: string }
  /** The stream ended properly (OpenAI `[DONE]`, Anthropic `message_stop`). */
  | { type: 'done' };

/** The text of a message's content, parts joined. */
export function contentText(content: string | ContentPart[]): string {
  if (typeof content === 'string') return content;
  let out = '';
  for (const p of content) if (p.type === 'text') out += p.text;
  return out;
}
