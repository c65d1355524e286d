/**
 * OpenAI Chat Completions wire format ↔ canonical request.
 *
 * Responses live in `openai-response.ts`, legacy completions in
 * `openai-completion.ts`, embeddings in `openai-embedding.ts`; this module
 * re-exports them so callers import one path.
 */
import type {
  CanonicalMessage,
  CanonicalRequest,
  ContentPart,
  ResponseFormat,
  ToolCall,
  ToolChoice,
  ToolDefinition,
} from './canonical.js';
import { contentText } from './canonical.js';
import {
  extraOf,
  invalid,
  isObject,
  optBoolean,
  optPositiveInt,
  requireBody,
  requireModel,
  applyStream,
  imagePart,
  readSampling,
  type JsonObject,
} from './wire-util.js';
import { OPENAI_CHAT_NUMBERS, checkNumbers } from './numeric-params.js';

export * from './openai-response.js';
export * from './openai-completion.js';
export * from './openai-embedding.js';

const CHAT_KNOWN: ReadonlySet<string> = new Set([
  'model', 'messages', 'tools', 'tool_choice', 'response_format', 'max_tokens',
  'max_completion_tokens', 'temperature', 'top_p', 'stop', 'stream', 'user',
]);

/**
 * Parses a `POST /v1/chat/completions` body.
 *
 * System and developer turns are joined into `system`; parameters with no
 * canonical field (seed, n, logprobs, stream_options, ...) go to `extra`.
 * The legacy `functions`/`function_call` API is rejected.
 *
 * @throws SwitchyardError `invalid_request` with `param` naming the field at fault.
 * @example
 * const req = parseOpenAIChat({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
 * req.messages[0].content; // 'hi'
 */
export function parseOpenAIChat(body: unknown): CanonicalRequest {
  const b = requireBody(body);
  const model = requireModel(b);
  checkNumbers(b, OPENAI_CHAT_NUMBERS);
  if (b.functions !== undefined || b.function_call !== undefined) {
    invalid(b.functions !== undefined ? 'functions' : 'function_call',
      '`functions` and `function_call` are deprecated and not supported; use `tools` and `tool_choice`');
  }
  const raw = b.messages;
  if (!Array.isArray(raw) || raw.length === 0) invalid('messages', '`messages` must be a non-empty array');

  const systemParts: string[] = [];
  const messages: CanonicalMessage[] = [];
  raw.forEach((m: unknown, i: number) => {
    const msg = parseMessage(m, `messages[${i}]`);
    if (msg.role === 'system') systemParts.push(contentText(msg.content));
    else messages.push(msg);
  });
  if (messages.length === 0) invalid('messages', '`messages` must contain at least one non-system message');

  const req: CanonicalRequest = {
    operation: 'chat',
    protocol: 'openai',
    model,
    messages,
    stream: optBoolean(b, 'stream') ?? false,
    extra: extraOf(b, CHAT_KNOWN),
  };
  if (systemParts.length > 0) req.system = systemParts.join('\n\n');
  const tools = parseTools(b.tools);
  if (tools) req.tools = tools;
  const toolChoice = parseToolChoice(b.tool_choice);
  if (toolChoice !== undefined) req.toolChoice = toolChoice;
  const rf = parseResponseFormat(b.response_format);
  if (rf) req.responseFormat = rf;
  const maxTokens = optPositiveInt(b, 'max_completion_tokens') ?? optPositiveInt(b, 'max_tokens');
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  readSampling(b, req);
  return req;
}

function parseMessage(m: unknown, param: string): CanonicalMessage {
  if (!isObject(m)) invalid(param, `\`${param}\` must be an object`);
  const role = m.role;
  const name = m.name;
  if (name !== undefined && name !== null && typeof name !== 'string') invalid(`${param}.name`, `\`${param}.name\` must be a string`);
  let msg: CanonicalMessage;
  switch (role) {
    case 'system':
    case 'developer':
      msg = { role: 'system', content: textOnly(m.content, `${param}.content`) };
      break;
    case 'user':
      if (m.content === undefined || m.content === null) invalid(`${param}.content`, `\`${param}.content\` is required`);
      msg = { role: 'user', content: parseContent(m.content, `${param}.content`) };
      break;
    case 'assistant': {
      const content = m.content === undefined || m.content === null ? '' : parseContent(m.content, `${param}.content`);
      msg = { role: 'assistant', content };
      const calls = parseToolCalls(m.tool_calls, `${param}.tool_calls`);
      if (calls) msg.toolCalls = calls;
      if (m.function_call !== undefined && m.function_call !== null) {
        invalid(`${param}.function_call`, '`function_call` messages are deprecated and not supported; use `tool_calls`');
      }
      break;
    }
    case 'tool': {
      if (typeof m.tool_call_id !== 'string' || m.tool_call_id === '') {
        invalid(`${param}.tool_call_id`, `\`${param}.tool_call_id\` is required for role \`tool\``);
      }
      msg = { role: 'tool', content: textOnly(m.content, `${param}.content`), toolCallId: m.tool_call_id };
      break;
    }
    case 'function':
      return invalid(`${param}.role`, 'role `function` is deprecated and not supported; use role `tool`');
    default:
      return invalid(`${param}.role`,
        `\`${param}.role\` must be one of system, developer, user, assistant, tool`);
  }
  if (typeof name === 'string') msg.name = name;
  return msg;
}

/** Content that may only hold text: a string, or text parts joined. */
function textOnly(v: unknown, param: string): string {
  if (v === undefined || v === null) return invalid(param, `\`${param}\` is required`);
  const c = parseContent(v, param);
  if (typeof c === 'string') return c;
  if (c.some((p) => p.type !== 'text')) invalid(param, `\`${param}\` may only contain text parts`);
  return contentText(c);
}

function parseContent(v: unknown, param: string): string | ContentPart[] {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return invalid(param, `\`${param}\` must be a string or an array of content parts`);
  return v.map((p: unknown, j: number): ContentPart => {
    const pp = `${param}[${j}]`;
    if (!isObject(p)) return invalid(pp, `\`${pp}\` must be an object`);
    switch (p.type) {
      case 'text':
        if (typeof p.text !== 'string') invalid(`${pp}.text`, `\`${pp}.text\` must be a string`);
        return { type: 'text', text: p.text };
      case 'refusal':
        if (typeof p.refusal !== 'string') invalid(`${pp}.refusal`, `\`${pp}.refusal\` must be a string`);
        return { type: 'text', text: p.refusal };
      case 'image_url': {
        const iu = p.image_url;
        const url = typeof iu === 'string' ? iu : isObject(iu) ? iu.url : undefined;
        if (typeof url !== 'string' || url === '') invalid(`${pp}.image_url`, `\`${pp}.image_url.url\` must be a non-empty string`);
        return imagePart(url);
      }
      default:
        return invalid(`${pp}.type`, `content part type ${JSON.stringify(p.type)} is not supported (use text or image_url)`);
    }
  });
}

function parseToolCalls(v: unknown, param: string): ToolCall[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return invalid(param, `\`${param}\` must be an array`);
  if (v.length === 0) return undefined;
  return v.map((c: unknown, k: number): ToolCall => {
    const pp = `${param}[${k}]`;
    if (!isObject(c) || !isObject(c.function)) return invalid(pp, `\`${pp}\` must be {id, type: "function", function: {name, arguments}}`);
    if (typeof c.id !== 'string' || c.id === '') invalid(`${pp}.id`, `\`${pp}.id\` must be a non-empty string`);
    const fn = c.function;
    if (typeof fn.name !== 'string' || fn.name === '') invalid(`${pp}.function.name`, `\`${pp}.function.name\` must be a non-empty string`);
    const args = fn.arguments;
    const text = typeof args === 'string' ? args : args === undefined || args === null ? '' : JSON.stringify(args);
    return { id: c.id, name: fn.name, arguments: text };
  });
}

function parseTools(v: unknown): ToolDefinition[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return invalid('tools', '`tools` must be an array');
  if (v.length === 0) return undefined;
  return v.map((t: unknown, i: number): ToolDefinition => {
    const p = `tools[${i}]`;
    if (!isObject(t) || t.type !== 'function' || !isObject(t.function)) {
      return invalid(p, `\`${p}\` must be {type: "function", function: {...}}`);
    }
    const fn = t.function;
    if (typeof fn.name !== 'string' || fn.name === '') invalid(`${p}.function.name`, `\`${p}.function.name\` must be a non-empty string`);
    if (fn.parameters !== undefined && fn.parameters !== null && !isObject(fn.parameters)) {
      invalid(`${p}.function.parameters`, `\`${p}.function.parameters\` must be a JSON Schema object`);
    }
    const def: ToolDefinition = {
      name: fn.name,
      parameters: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} },
    };
    if (typeof fn.description === 'string') def.description = fn.description;
    if (typeof fn.strict === 'boolean') def.strict = fn.strict;
    return def;
  });
}

function parseToolChoice(v: unknown): ToolChoice | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === 'auto' || v === 'none' || v === 'required') return v;
  if (isObject(v) && v.type === 'function' && isObject(v.function) && typeof v.function.name === 'string') {
    return { name: v.function.name };
  }
  return invalid('tool_choice', '`tool_choice` must be "auto", "none", "required" or {type: "function", function: {name}}');
}

function parseResponseFormat(v: unknown): ResponseFormat | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) return invalid('response_format', '`response_format` must be an object');
  switch (v.type) {
    case 'text':
      return { type: 'text' };
    case 'json_object':
      return { type: 'json_object' };
    case 'json_schema': {
      const js = v.json_schema;
      if (!isObject(js)) return invalid('response_format.json_schema', '`response_format.json_schema` is required for type json_schema');
      if (js.schema !== undefined && !isObject(js.schema)) invalid('response_format.json_schema.schema', '`response_format.json_schema.schema` must be an object');
      const rf: ResponseFormat = { type: 'json_schema', schema: isObject(js.schema) ? js.schema : {} };
      if (typeof js.name === 'string') rf.name = js.name;
      if (typeof js.strict === 'boolean') rf.strict = js.strict;
      return rf;
    }
    default:
      return invalid('response_format.type', '`response_format.type` must be text, json_object or json_schema');
  }
}

/** Options for {@link toOpenAIChatBody}. */
export interface OpenAIChatBodyOptions {
  /** Ask for a final usage chunk when streaming (`stream_options.include_usage`). */
  streamUsage: boolean;
  /**
   * Which field carries the token limit. `max_tokens` (default) is what most
   * OpenAI-compatible servers read; OpenAI reasoning models need `max_completion_tokens`.
   */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/**
 * Renders a canonical request as an OpenAI chat completions body for `upstreamModel`.
 *
 * `extra` is merged only when the client spoke OpenAI (other protocols' extras
 * would be rejected); `parallel_tool_calls: false` carries across protocols.
 *
 * @example
 * const body = toOpenAIChatBody(req, 'gpt-4o-mini', { streamUsage: true });
 */
export function toOpenAIChatBody(req: CanonicalRequest, upstreamModel: string, opts: OpenAIChatBodyOptions): JsonObject {
  const body: JsonObject = req.protocol === 'openai' ? { ...req.extra } : {};
  body.model = upstreamModel;
  const messages: JsonObject[] = [];
  if (req.system !== undefined && req.system !== '') messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) messages.push(renderMessage(m));
  body.messages = messages;
  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => {
      const fn: JsonObject = { name: t.name };
      if (t.description !== undefined) fn.description = t.description;
      fn.parameters = t.parameters;
      if (t.strict !== undefined) fn.strict = t.strict;
      return { type: 'function', function: fn };
    });
    if (req.protocol !== 'openai' && req.extra.parallel_tool_calls === false) body.parallel_tool_calls = false;
  }
  if (req.toolChoice !== undefined) {
    body.tool_choice = typeof req.toolChoice === 'string'
      ? req.toolChoice
      : { type: 'function', function: { name: req.toolChoice.name } };
  }
  if (req.responseFormat) body.response_format = renderResponseFormat(req.responseFormat);
  if (req.maxTokens !== undefined) body[opts.maxTokensField ?? 'max_tokens'] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop && req.stop.length > 0) body.stop = req.stop;
  if (req.user !== undefined) body.user = req.user;
  applyStream(body, req.stream, opts.streamUsage);
  return body;
}

function renderMessage(m: CanonicalMessage): JsonObject {
  let out: JsonObject;
  switch (m.role) {
    case 'assistant': {
      const text = contentText(m.content);
      out = { role: 'assistant', content: text === '' && m.toolCalls?.length ? null : text };
      if (m.toolCalls && m.toolCalls.length > 0) {
        out.tool_calls = m.toolCalls.map((c) => ({
          id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments },
        }));
      }
      break;
    }
    case 'tool':
      out = { role: 'tool', tool_call_id: m.toolCallId ?? '', content: contentText(m.content) };
      break;
    default:
      out = { role: m.role, content: renderContent(m.content) };
  }
  if (m.name !== undefined) out.name = m.name;
  return out;
}

function renderContent(c: string | ContentPart[]): string | JsonObject[] {
  if (typeof c === 'string') return c;
  return c.map((p) => (p.type === 'text'
    ? { type: 'text', text: p.text }
    : { type: 'image_url', image_url: { url: p.url } }));
}

function renderResponseFormat(rf: ResponseFormat): JsonObject {
  if (rf.type !== 'json_schema') return { type: rf.type };
  const js: JsonObject = { name: rf.name ?? 'response', schema: rf.schema };
  if (rf.strict !== undefined) js.strict = rf.strict;
  return { type: 'json_schema', json_schema: js };
}
