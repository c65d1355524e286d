/**
 * OpenAI legacy completions (`POST /v1/completions`) ↔ canonical.
 */
import type { CanonicalRequest, CanonicalResponse } from './canonical.js';
import { contentText } from './canonical.js';
import { malformedUpstream, usageFromOpenAI } from './openai-response.js';
import {
  extraOf,
  finishFromOpenAI,
  finishToOpenAI,
  markCompleteness,
  invalid,
  isObject,
  newId,
  nowSeconds,
  openAIUsage,
  optBoolean,
  optPositiveInt,
  requireBody,
  requireModel,
  applyStream,
  readSampling,
  type JsonObject,
} from './wire-util.js';
import { OPENAI_COMPLETION_NUMBERS, checkNumbers } from './numeric-params.js';

const COMPLETION_KNOWN: ReadonlySet<string> = new Set([
  'model', 'prompt', 'max_tokens', 'temperature', 'top_p', 'stop', 'stream', 'user',
]);

/**
 * Parses a `POST /v1/completions` body: the prompt (a string, or an array of
 * exactly one string) becomes one user message; `operation` is `completion`.
 * Note OpenAI's default `max_tokens` here is 16; it is left unset when absent.
 *
 * @throws SwitchyardError `invalid_request` (param `prompt`, `model`, ...).
 * @example
 * parseOpenAICompletion({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
 */
export function parseOpenAICompletion(body: unknown): CanonicalRequest {
  const b = requireBody(body);
  const model = requireModel(b);
  checkNumbers(b, OPENAI_COMPLETION_NUMBERS);
  if (typeof b.n === 'number' && typeof b.best_of === 'number' && b.best_of < b.n) invalid('best_of', '`best_of` must be at least `n`');
  let prompt: string;
  if (typeof b.prompt === 'string') prompt = b.prompt;
  else if (Array.isArray(b.prompt) && b.prompt.length === 1 && typeof b.prompt[0] === 'string') prompt = b.prompt[0];
  else if (Array.isArray(b.prompt) && b.prompt.length > 1 && b.prompt.every((p) => typeof p === 'string')) {
    return invalid('prompt', 'batched prompts are not supported; send one prompt per request');
  } else if (b.prompt === undefined || b.prompt === null) return invalid('prompt', '`prompt` is required');
  else return invalid('prompt', '`prompt` must be a string (token-array prompts are not supported)');

  const req: CanonicalRequest = {
    operation: 'completion',
    protocol: 'openai',
    model,
    messages: [{ role: 'user', content: prompt }],
    stream: optBoolean(b, 'stream') ?? false,
    extra: extraOf(b, COMPLETION_KNOWN),
  };
  const maxTokens = optPositiveInt(b, 'max_tokens');
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  readSampling(b, req);
  return req;
}

/**
 * Renders a canonical request as a `/v1/completions` body. For a chat request
 * the system prompt and turns are flattened into one prompt.
 *
 * @example
 * toOpenAICompletionBody(req, 'gpt-3.5-turbo-instruct', { streamUsage: false });
 */
export function toOpenAICompletionBody(
  req: CanonicalRequest,
  upstreamModel: string,
  opts: { streamUsage: boolean } = { streamUsage: false },
): JsonObject {
  const body: JsonObject = req.protocol === 'openai' ? { ...req.extra } : {};
  body.model = upstreamModel;
  if (req.operation === 'completion') {
    body.prompt = req.messages.map((m) => contentText(m.content)).join('');
  } else {
    const parts: string[] = [];
    if (req.system) parts.push(req.system);
    for (const m of req.messages) parts.push(contentText(m.content));
    body.prompt = parts.join('\n\n');
  }
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop && req.stop.length > 0) body.stop = req.stop;
  if (req.user !== undefined) body.user = req.user;
  applyStream(body, req.stream, opts.streamUsage);
  return body;
}

/**
 * Reads an OpenAI `text_completion` JSON body (first choice).
 *
 * @throws SwitchyardError `upstream_unavailable` when the body has no choices.
 */
export function openAICompletionResponseToCanonical(json: unknown): CanonicalResponse {
  if (!isObject(json) || !Array.isArray(json.choices)) return malformedUpstream('completion');
  const choice: unknown = json.choices[0];
  if (!isObject(choice)) return malformedUpstream('completion');
  const resp: CanonicalResponse = {
    id: typeof json.id === 'string' && json.id !== '' ? json.id : newId('cmpl-'),
    model: typeof json.model === 'string' ? json.model : '',
    created: typeof json.created === 'number' ? json.created : nowSeconds(),
    text: typeof choice.text === 'string' ? choice.text : '',
    finishReason: finishFromOpenAI(choice.finish_reason) ?? 'stop',
  };
  const usage = usageFromOpenAI(json.usage);
  if (usage) resp.usage = usage;
  return markCompleteness(resp, 'openai', choice.finish_reason, json.choices.length);
}

/**
 * Renders a canonical response as an OpenAI `text_completion` body
 * (tool calls have no place in it and are dropped).
 */
export function canonicalToOpenAICompletion(resp: CanonicalResponse): JsonObject {
  return {
    id: resp.id,
    object: 'text_completion',
    created: resp.created,
    model: resp.model,
    choices: [{ text: resp.text, index: 0, logprobs: null, finish_reason: finishToOpenAI(resp.finishReason) }],
    usage: openAIUsage(resp.usage),
  };
}
