/**
 * Anthropic Messages API (`POST /v1/messages`) ↔ canonical request.
 *
 * Responses live in `anthropic-response.ts` and are re-exported here.
 */
import type { CanonicalMessage, CanonicalRequest, ContentPart, ToolCall, ToolChoice, ToolDefinition } from './canonical.js';
import { contentText } from './canonical.js';
import {
  extraOf,
  imagePart,
  invalid,
  isObject,
  optBoolean,
  optNumber,
  optPositiveInt,
  optStringList,
  parseToolArguments,
  requireBody,
  requireModel,
  type JsonObject,
} from './wire-util.js';
import { ANTHROPIC_NUMBERS, checkNumbers } from './numeric-params.js';

export * from './anthropic-response.js';

const MESSAGES_KNOWN: ReadonlySet<string> = new Set([
  'model', 'messages', 'system', 'max_tokens', 'tools', 'tool_choice', 'stop_sequences',
  'temperature', 'top_p', 'stream', 'metadata',
]);

/**
 * Parses a `POST /v1/messages` body. `tool_result` blocks become canonical
 * `tool` messages, one per result, in order; `thinking` blocks in history are
 * dropped; `top_k`, `thinking` and other parameters go to `extra`.
 *
 * @throws SwitchyardError `invalid_request` with `param` naming the field at fault
 *   (e.g. `max_tokens`, which Anthropic requires).
 * @example
 * parseAnthropicMessages({ model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'hi' }] });
 */
export function parseAnthropicMessages(body: unknown): CanonicalRequest {
  const b = requireBody(body);
  const model = requireModel(b);
  if (b.max_tokens === undefined || b.max_tokens === null) invalid('max_tokens', '`max_tokens` is required');
  checkNumbers(b, ANTHROPIC_NUMBERS);
  const maxTokens = optPositiveInt(b, 'max_tokens');
  const raw = b.messages;
  if (!Array.isArray(raw) || raw.length === 0) invalid('messages', '`messages` must be a non-empty array');

  const systemParts: string[] = [];
  if (b.system !== undefined && b.system !== null) systemParts.push(systemText(b.system, 'system'));
  const messages: CanonicalMessage[] = [];
  raw.forEach((m: unknown, i: number) => parseTurn(m, `messages[${i}]`, messages, systemParts));
  if (messages.length === 0) invalid('messages', '`messages` must contain at least one user or assistant turn');

  const extra = extraOf(b, MESSAGES_KNOWN);
  const req: CanonicalRequest = {
    operation: 'chat',
    protocol: 'anthropic',
    model,
    messages,
    stream: optBoolean(b, 'stream') ?? false,
    extra,
  };
  if (maxTokens !== undefined) req.maxTokens = maxTokens;
  const system = systemParts.filter((s) => s !== '').join('\n\n');
  if (system !== '') req.system = system;
  const tools = parseTools(b.tools);
  if (tools) req.tools = tools;
  const tc = b.tool_choice;
  if (tc !== undefined && tc !== null) {
    req.toolChoice = parseToolChoice(tc);
    if (isObject(tc) && tc.disable_parallel_tool_use === true) extra.parallel_tool_calls = false;
  }
  const temperature = optNumber(b, 'temperature');
  if (temperature !== undefined) req.temperature = temperature;
  const topP = optNumber(b, 'top_p');
  if (topP !== undefined) req.topP = topP;
  const stop = optStringList(b, 'stop_sequences');
  if (stop && stop.length > 0) req.stop = stop;
  if (b.metadata !== undefined && b.metadata !== null) {
    if (!isObject(b.metadata)) invalid('metadata', '`metadata` must be an object');
    const { user_id: userId, ...rest } = b.metadata;
    if (userId !== undefined && userId !== null) {
      if (typeof userId !== 'string') invalid('metadata.user_id', '`metadata.user_id` must be a string');
      req.user = userId;
    }
    if (Object.keys(rest).length > 0) extra.metadata = rest;
  }
  return req;
}

function systemText(v: unknown, param: string): string {
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return invalid(param, `\`${param}\` must be a string or an array of text blocks`);
  return v.map((blk: unknown, j: number) => {
    if (!isObject(blk) || blk.type !== 'text' || typeof blk.text !== 'string') {
      return invalid(`${param}[${j}]`, `\`${param}[${j}]\` must be a text block`);
    }
    return blk.text;
  }).join('\n\n');
}

/** Appends the canonical messages for one Anthropic turn (a user turn may split around tool results). */
function parseTurn(m: unknown, param: string, out: CanonicalMessage[], systemParts: string[]): void {
  if (!isObject(m)) invalid(param, `\`${param}\` must be an object`);
  const role = m.role;
  if (role === 'system') {
    systemParts.push(systemText(m.content, `${param}.content`));
    return;
  }
  if (role !== 'user' && role !== 'assistant') invalid(`${param}.role`, `\`${param}.role\` must be "user" or "assistant"`);
  const cp = `${param}.content`;
  if (typeof m.content === 'string') {
    out.push({ role, content: m.content });
    return;
  }
  if (!Array.isArray(m.content)) invalid(cp, `\`${cp}\` must be a string or an array of content blocks`);

  let parts: ContentPart[] = [];
  const calls: ToolCall[] = [];
  const flushUser = (): void => {
    if (parts.length > 0) out.push({ role: 'user', content: parts });
    parts = [];
  };
  m.content.forEach((blk: unknown, j: number) => {
    const bp = `${cp}[${j}]`;
    if (!isObject(blk)) return invalid(bp, `\`${bp}\` must be an object`);
    switch (blk.type) {
      case 'text':
        if (typeof blk.text !== 'string') invalid(`${bp}.text`, `\`${bp}.text\` must be a string`);
        parts.push({ type: 'text', text: blk.text });
        return;
      case 'image':
        parts.push(parseImage(blk.source, `${bp}.source`));
        return;
      case 'thinking':
      case 'redacted_thinking':
        if (role !== 'assistant') invalid(`${bp}.type`, `\`${blk.type}\` blocks are only valid in assistant turns`);
        return;
      case 'tool_use': {
        if (role !== 'assistant') invalid(`${bp}.type`, '`tool_use` blocks are only valid in assistant turns');
        if (typeof blk.id !== 'string' || blk.id === '') invalid(`${bp}.id`, `\`${bp}.id\` must be a non-empty string`);
        if (typeof blk.name !== 'string' || blk.name === '') invalid(`${bp}.name`, `\`${bp}.name\` must be a non-empty string`);
        calls.push({ id: blk.id, name: blk.name, arguments: JSON.stringify(blk.input ?? {}) });
        return;
      }
      case 'tool_result': {
        if (role !== 'user') invalid(`${bp}.type`, '`tool_result` blocks are only valid in user turns');
        if (typeof blk.tool_use_id !== 'string' || blk.tool_use_id === '') {
          invalid(`${bp}.tool_use_id`, `\`${bp}.tool_use_id\` must be a non-empty string`);
        }
        flushUser();
        const msg: CanonicalMessage = { role: 'tool', content: toolResultContent(blk.content, `${bp}.content`), toolCallId: blk.tool_use_id };
        if (blk.is_error === true) msg.isError = true;
        out.push(msg);
        return;
      }
      default:
        invalid(`${bp}.type`, `content block type ${JSON.stringify(blk.type)} is not supported`);
    }
  });
  if (role === 'user') {
    flushUser();
    return;
  }
  const msg: CanonicalMessage = { role: 'assistant', content: contentText(parts) };
  if (parts.some((p) => p.type === 'image')) invalid(cp, 'image blocks are only valid in user turns');
  if (calls.length > 0) msg.toolCalls = calls;
  out.push(msg);
}

function parseImage(src: unknown, param: string): ContentPart {
  if (isObject(src) && src.type === 'base64' && typeof src.media_type === 'string' && typeof src.data === 'string') {
    return { type: 'image', url: `data:${src.media_type};base64,${src.data}`, mediaType: src.media_type };
  }
  if (isObject(src) && src.type === 'url' && typeof src.url === 'string') return imagePart(src.url);
  return invalid(param, `\`${param}\` must be a base64 or url image source`);
}

function toolResultContent(v: unknown, param: string): string | ContentPart[] {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (!Array.isArray(v)) return invalid(param, `\`${param}\` must be a string or an array of blocks`);
  return v.map((blk: unknown, k: number): ContentPart => {
    const bp = `${param}[${k}]`;
    if (isObject(blk) && blk.type === 'text' && typeof blk.text === 'string') return { type: 'text', text: blk.text };
    if (isObject(blk) && blk.type === 'image') return parseImage(blk.source, `${bp}.source`);
    return invalid(bp, `\`${bp}\` must be a text or image block`);
  });
}

function parseTools(v: unknown): ToolDefinition[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return invalid('tools', '`tools` must be an array');
  if (v.length === 0) return undefined;
  return v.map((t: unknown, i: number): ToolDefinition => {
    const p = `tools[${i}]`;
    if (!isObject(t)) return invalid(p, `\`${p}\` must be an object`);
    if (t.type !== undefined && t.type !== null && t.type !== 'custom') {
      return invalid(`${p}.type`, `server tool ${JSON.stringify(t.type)} is not supported`);
    }
    if (typeof t.name !== 'string' || t.name === '') invalid(`${p}.name`, `\`${p}.name\` must be a non-empty string`);
    if (!isObject(t.input_schema)) invalid(`${p}.input_schema`, `\`${p}.input_schema\` must be a JSON Schema object`);
    const def: ToolDefinition = { name: t.name, parameters: t.input_schema };
    if (typeof t.description === 'string') def.description = t.description;
    return def;
  });
}

function parseToolChoice(v: unknown): ToolChoice {
  if (isObject(v)) {
    switch (v.type) {
      case 'auto':
        return 'auto';
      case 'any':
        return 'required';
      case 'none':
        return 'none';
      case 'tool':
        if (typeof v.name === 'string' && v.name !== '') return { name: v.name };
    }
  }
  return invalid('tool_choice', '`tool_choice` must be {type: "auto" | "any" | "none"} or {type: "tool", name}');
}

/** Options for {@link toAnthropicBody}. */
export interface AnthropicBodyOptions {
  /** `max_tokens` when the request has none (Anthropic requires it). */
  defaultMaxTokens: number;
}

/**
 * Renders a canonical request as a valid Anthropic Messages body for `upstreamModel`.
 *
 * Consecutive same-role turns are merged; tool messages become `tool_result`
 * blocks in a user turn; tool-call arguments are parsed into `input`; a JSON
 * `responseFormat` becomes an instruction appended to `system`; temperature is
 * clamped to Anthropic's 0..1; whitespace-only stop sequences (which Anthropic
 * rejects) are dropped. `extra` is merged only when the client spoke Anthropic.
 *
 * @throws SwitchyardError `invalid_request` when a tool call's arguments are not a JSON object.
 * @example
 * const body = toAnthropicBody(parseOpenAIChat(json), 'claude-sonnet-4-5', { defaultMaxTokens: 4096 });
 */
export function toAnthropicBody(req: CanonicalRequest, upstreamModel: string, opts: AnthropicBodyOptions): JsonObject {
  const native = req.protocol === 'anthropic';
  const body: JsonObject = native ? { ...req.extra } : {};
  const parallel = req.extra.parallel_tool_calls;
  delete body.parallel_tool_calls;
  body.model = upstreamModel;
  body.max_tokens = req.maxTokens ?? opts.defaultMaxTokens;

  const system: string[] = req.system ? [req.system] : [];
  for (const m of req.messages) if (m.role === 'system') system.push(contentText(m.content));
  const instruction = jsonInstruction(req);
  if (instruction) system.push(instruction);
  if (system.length > 0) body.system = system.join('\n\n');
  body.messages = renderTurns(req.messages);

  if (req.tools && req.tools.length > 0) {
    body.tools = req.tools.map((t) => {
      const out: JsonObject = { name: t.name };
      if (t.description !== undefined) out.description = t.description;
      out.input_schema = t.parameters.type === undefined ? { type: 'object', ...t.parameters } : t.parameters;
      return out;
    });
    const choice = renderToolChoice(req.toolChoice);
    if (parallel === false) choice.disable_parallel_tool_use = true;
    if (req.toolChoice !== undefined || parallel === false) body.tool_choice = choice;
  }
  if (req.temperature !== undefined) body.temperature = native ? req.temperature : Math.min(1, Math.max(0, req.temperature));
  if (req.topP !== undefined) body.top_p = req.topP;
  const stop = native ? req.stop : req.stop?.filter((s) => s.trim() !== '');
  if (stop && stop.length > 0) body.stop_sequences = stop;
  if (req.user !== undefined) body.metadata = { ...(isObject(body.metadata) ? body.metadata : {}), user_id: req.user };
  if (req.stream) body.stream = true;
  else delete body.stream;
  return body;
}

function jsonInstruction(req: CanonicalRequest): string | undefined {
  const rf = req.responseFormat;
  if (!rf || rf.type === 'text') return undefined;
  if (rf.type === 'json_object') return 'Respond with a single valid JSON object and nothing else.';
  return `Respond with a single JSON object that conforms to this JSON Schema, and nothing else:\n${JSON.stringify(rf.schema)}`;
}

function renderToolChoice(tc: ToolChoice | undefined): JsonObject {
  if (tc === undefined || tc === 'auto') return { type: 'auto' };
  if (tc === 'required') return { type: 'any' };
  if (tc === 'none') return { type: 'none' };
  return { type: 'tool', name: tc.name };
}

interface Turn {
  role: 'user' | 'assistant';
  content: JsonObject[];
}

function renderTurns(messages: readonly CanonicalMessage[]): Turn[] {
  const turns: Turn[] = [];
  messages.forEach((m, i) => {
    if (m.role === 'system') return;
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const blocks: JsonObject[] = [];
    if (m.role === 'tool') {
      const r: JsonObject = { type: 'tool_result', tool_use_id: m.toolCallId ?? '' };
      const c = typeof m.content === 'string' ? m.content : renderBlocks(m.content);
      if (c.length > 0) r.content = c;
      if (m.isError) r.is_error = true;
      blocks.push(r);
    } else {
      blocks.push(...renderBlocks(typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content));
      m.toolCalls?.forEach((c, k) => {
        const input = parseToolArguments(c.arguments);
        if (!input) invalid(`messages[${i}].tool_calls[${k}].function.arguments`, 'tool call arguments must be a JSON object');
        blocks.push({ type: 'tool_use', id: c.id, name: c.name, input });
      });
    }
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  });
  // Anthropic wants a user turn's tool_result blocks before any other block.
  for (const t of turns) {
    if (t.role === 'user' && t.content.some((b) => b.type === 'tool_result')) {
      t.content = [...t.content.filter((b) => b.type === 'tool_result'), ...t.content.filter((b) => b.type !== 'tool_result')];
    }
  }
  return turns;
}

/** Canonical parts → Anthropic blocks, dropping blank text (Anthropic rejects it). */
function renderBlocks(parts: readonly ContentPart[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const p of parts) {
    if (p.type === 'text') {
      if (p.text.trim() !== '') out.push({ type: 'text', text: p.text });
      continue;
    }
    const m = /^data:([^;,]+);base64,/.exec(p.url);
    out.push(m
      ? { type: 'image', source: { type: 'base64', media_type: m[1], data: p.url.slice(m[0].length) } }
      : { type: 'image', source: { type: 'url', url: p.url } });
  }
  return out;
}
