/**
 * Anthropic Messages responses ↔ canonical response.
 */
import type { CanonicalResponse, ToolCall, Usage } from './canonical.js';
import { malformedUpstream } from './openai-response.js';
import {
  finishFromAnthropic,
  finishToAnthropic,
  isObject,
  markCompleteness,
  newId,
  nowSeconds,
  parseToolArguments,
  tokenCount,
  type JsonObject,
} from './wire-util.js';

/**
 * Anthropic `usage` → canonical. Input counts cache reads and writes too, so
 * it means what OpenAI's `prompt_tokens` means: every token of the prompt.
 */
export function usageFromAnthropic(u: unknown): Usage | undefined {
  if (!isObject(u)) return undefined;
  return {
    inputTokens: tokenCount(u.input_tokens) + tokenCount(u.cache_creation_input_tokens) + tokenCount(u.cache_read_input_tokens),
    outputTokens: tokenCount(u.output_tokens),
  };
}

/**
 * Reads an Anthropic `message` JSON body: text blocks joined, `tool_use`
 * blocks as tool calls (input re-serialised as JSON text), thinking dropped.
 *
 * @throws SwitchyardError `upstream_unavailable` when the body is not a message.
 * @example
 * const resp = anthropicResponseToCanonical(await res.json());
 */
export function anthropicResponseToCanonical(json: unknown): CanonicalResponse {
  if (!isObject(json) || !Array.isArray(json.content)) return malformedUpstream('message');
  let text = '';
  const calls: ToolCall[] = [];
  for (const blk of json.content as unknown[]) {
    if (!isObject(blk)) continue;
    if (blk.type === 'text' && typeof blk.text === 'string') text += blk.text;
    else if (blk.type === 'tool_use') {
      calls.push({
        id: typeof blk.id === 'string' ? blk.id : newId('toolu_'),
        name: typeof blk.name === 'string' ? blk.name : '',
        arguments: JSON.stringify(blk.input ?? {}),
      });
    }
  }
  const resp: CanonicalResponse = {
    id: typeof json.id === 'string' && json.id !== '' ? json.id : newId('msg_'),
    model: typeof json.model === 'string' ? json.model : '',
    created: nowSeconds(),
    text,
    finishReason: finishFromAnthropic(json.stop_reason) ?? 'stop',
  };
  if (calls.length > 0) resp.toolCalls = calls;
  const usage = usageFromAnthropic(json.usage);
  if (usage) resp.usage = usage;
  return markCompleteness(resp, 'anthropic', json.stop_reason);
}

/**
 * Renders a canonical response as an Anthropic `message` body. Tool-call
 * arguments that are not a JSON object (e.g. cut off by `length`) render as `{}`.
 *
 * @example
 * res.json(canonicalToAnthropic(resp));
 */
export function canonicalToAnthropic(resp: CanonicalResponse): JsonObject {
  const content: JsonObject[] = [];
  if (resp.text !== '') content.push({ type: 'text', text: resp.text });
  for (const c of resp.toolCalls ?? []) {
    content.push({ type: 'tool_use', id: c.id, name: c.name, input: parseToolArguments(c.arguments) ?? {} });
  }
  if (content.length === 0) content.push({ type: 'text', text: '' });
  return {
    id: resp.id,
    type: 'message',
    role: 'assistant',
    model: resp.model,
    content,
    stop_reason: finishToAnthropic(resp.finishReason),
    stop_sequence: null,
    usage: { input_tokens: resp.usage?.inputTokens ?? 0, output_tokens: resp.usage?.outputTokens ?? 0 },
  };
}
