/**
 * OpenAI chat completion responses ↔ canonical response.
 */
import { SwitchyardError } from '../errors.js';
import type { CanonicalResponse, ToolCall, Usage } from './canonical.js';
import {
  finishFromOpenAI,
  finishToOpenAI,
  isObject,
  markCompleteness,
  newId,
  nowSeconds,
  openAIUsage,
  tokenCount,
  type JsonObject,
} from './wire-util.js';

/** Throws the error used when an upstream 2xx body is not the shape its protocol promises. */
export function malformedUpstream(what: string): never {
  throw new SwitchyardError('upstream_unavailable', `upstream returned a malformed ${what}`);
}

/** OpenAI `usage` → canonical, or `undefined` when absent. */
export function usageFromOpenAI(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined;
  return { inputTokens: tokenCount(u.prompt_tokens), outputTokens: tokenCount(u.completion_tokens) };
}

/**
 * Reads an OpenAI `chat.completion` JSON body (first choice).
 *
 * @throws SwitchyardError `upstream_unavailable` when the body has no choices.
 * @example
 * const resp = openAIChatResponseToCanonical(await res.json());
 */
export function openAIChatResponseToCanonical(json: unknown): CanonicalResponse {
  if (!isObject(json) || !Array.isArray(json.choices)) return malformedUpstream('chat completion');
  const choice: unknown = json.choices[0];
  if (!isObject(choice) || !isObject(choice.message)) return malformedUpstream('chat completion');
  const msg = choice.message;
  const text = typeof msg.content === 'string' ? msg.content : typeof msg.refusal === 'string' ? msg.refusal : '';
  const resp: CanonicalResponse = {
    id: typeof json.id === 'string' && json.id !== '' ? json.id : newId('chatcmpl-'),
    model: typeof json.model === 'string' ? json.model : '',
    created: typeof json.created === 'number' ? json.created : nowSeconds(),
    text,
    finishReason: finishFromOpenAI(choice.finish_reason) ?? 'stop',
  };
  const calls = toolCallsFromOpenAI(msg.tool_calls);
  if (calls.length > 0) resp.toolCalls = calls;
  const usage = usageFromOpenAI(json.usage);
  if (usage) resp.usage = usage;
  return markCompleteness(resp, 'openai', choice.finish_reason, json.choices.length);
}

function toolCallsFromOpenAI(v: unknown): ToolCall[] {
  if (!Array.isArray(v)) return [];
  const out: ToolCall[] = [];
  for (const c of v as unknown[]) {
    if (!isObject(c) || !isObject(c.function)) continue;
    const args = c.function.arguments;
    out.push({
      id: typeof c.id === 'string' ? c.id : newId('call_'),
      name: typeof c.function.name === 'string' ? c.function.name : '',
      arguments: typeof args === 'string' ? args : args === undefined ? '' : JSON.stringify(args),
    });
  }
  return out;
}

/**
 * Renders a canonical response as an OpenAI `chat.completion` body.
 *
 * @example
 * res.json(canonicalToOpenAIChat(resp));
 */
export function canonicalToOpenAIChat(resp: CanonicalResponse): JsonObject {
  const hasTools = resp.toolCalls !== undefined && resp.toolCalls.length > 0;
  const message: JsonObject = {
    role: 'assistant',
    content: resp.text === '' && hasTools ? null : resp.text,
    refusal: null,
  };
  if (hasTools) {
    message.tool_calls = resp.toolCalls!.map((c) => ({
      id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments },
    }));
  }
  return {
    id: resp.id,
    object: 'chat.completion',
    created: resp.created,
    model: resp.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishToOpenAI(resp.finishReason) }],
    usage: openAIUsage(resp.usage),
  };
}
