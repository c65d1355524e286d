/**
 * OpenAI streaming (`chat.completion.chunk` and `text_completion` SSE) ↔
 * canonical stream events.
 */
import type { StreamEvent, Usage } from './canonical.js';
import { usageFromOpenAI } from './openai-response.js';
import { redactForClient } from '../observability/known-secrets.js';
import { errorTypeFor, finishFromOpenAI, finishToOpenAI, isKnownFinish, isObject, newId, nowSeconds, openAIUsage } from './wire-util.js';

/** The error event for a chunk that is not valid JSON. */
export const MALFORMED_CHUNK: Readonly<StreamEvent> = Object.freeze({
  type: 'error', message: 'upstream sent a stream chunk that is not valid JSON', code: 'malformed_chunk',
});

/**
 * Decodes an OpenAI stream, one SSE `data` payload at a time. Only choice 0
 * is read. `start` is emitted once, before the first content.
 *
 * @example
 * const d = new OpenAIStreamDecoder();
 * d.push('{"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}');
 * // [{ type: 'start', ... }, { type: 'text', text: 'Hi' }]
 * d.push('[DONE]'); // [{ type: 'done' }]
 */
export class OpenAIStreamDecoder {
  private started = false;

  /** Decodes one SSE `data` payload. */
  push(data: string): StreamEvent[] {
    if (data === '[DONE]' || data.trim() === '[DONE]') return [{ type: 'done' }];
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return [{ ...MALFORMED_CHUNK }];
    }
    if (!isObject(json)) return [{ ...MALFORMED_CHUNK }];
    if (json.error !== undefined && json.error !== null) {
      const e = isObject(json.error) ? json.error : {};
      const message = typeof e.message === 'string' ? e.message : typeof json.error === 'string' ? json.error : 'upstream stream error';
      const code = typeof e.code === 'string' ? e.code : typeof e.type === 'string' ? e.type : 'upstream_error';
      return [{ type: 'error', message, code }];
    }
    const body: StreamEvent[] = [];
    const choices = Array.isArray(json.choices) ? (json.choices as unknown[]) : [];
    const choice = choices.find((c) => isObject(c) && (c.index === 0 || c.index === undefined));
    if (isObject(choice)) {
      if (isObject(choice.delta)) readDelta(choice.delta, body);
      else if (typeof choice.text === 'string' && choice.text !== '') body.push({ type: 'text', text: choice.text });
      const fin = finishFromOpenAI(choice.finish_reason);
      if (fin) body.push(isKnownFinish('openai', choice.finish_reason) ? { type: 'finish', reason: fin } : { type: 'finish', reason: fin, unknown: true });
    }
    const usage = usageFromOpenAI(json.usage);
    if (usage) body.push({ type: 'usage', usage });
    const id = typeof json.id === 'string' ? json.id : '';
    if (!this.started && (id !== '' || body.length > 0)) {
      this.started = true;
      body.unshift({
        type: 'start',
        id: id !== '' ? id : newId('chatcmpl-'),
        model: typeof json.model === 'string' ? json.model : '',
        created: typeof json.created === 'number' && json.created > 0 ? json.created : nowSeconds(),
      });
    }
    return body;
  }
}

function readDelta(delta: Record<string, unknown>, out: StreamEvent[]): void {
  if (typeof delta.content === 'string' && delta.content !== '') out.push({ type: 'text', text: delta.content });
  if (typeof delta.refusal === 'string' && delta.refusal !== '') out.push({ type: 'text', text: delta.refusal });
  if (!Array.isArray(delta.tool_calls)) return;
  (delta.tool_calls as unknown[]).forEach((tc, k) => {
    if (!isObject(tc)) return;
    const ev: StreamEvent & { type: 'tool' } = { type: 'tool', index: typeof tc.index === 'number' ? tc.index : k };
    if (typeof tc.id === 'string' && tc.id !== '') ev.id = tc.id;
    const fn = isObject(tc.function) ? tc.function : {};
    if (typeof fn.name === 'string' && fn.name !== '') ev.name = fn.name;
    if (typeof fn.arguments === 'string' && fn.arguments !== '') ev.argumentsDelta = fn.arguments;
    if (ev.id !== undefined || ev.name !== undefined || ev.argumentsDelta !== undefined) out.push(ev);
  });
}

/** Options for {@link OpenAIStreamEncoder}. */
export interface OpenAIStreamEncoderOptions {
  /** Response id; defaults to the `start` event's, else a fresh one. */
  id?: string;
  /** Model name shown until a `start` event names the model that answered. */
  model: string;
  /** Unix seconds; defaults to the `start` event's. */
  created?: number;
  object: 'chat.completion.chunk' | 'text_completion';
  /**
   * Emit the final usage chunk (`choices: []`) before `[DONE]`. Set it when the
   * client sent `stream_options.include_usage`; naive clients break on empty choices.
   */
  includeUsage?: boolean;
}

/**
 * Encodes canonical stream events as OpenAI SSE text. `done` ends with
 * `data: [DONE]`; an `error` ends with `data: {"error":...}` and no `[DONE]`.
 * After either, `encode` returns `''`.
 *
 * @example
 * const enc = new OpenAIStreamEncoder({ model: 'gpt-4o', object: 'chat.completion.chunk' });
 * res.write(enc.encode({ type: 'text', text: 'Hi' }));
 */
export class OpenAIStreamEncoder {
  private readonly opts: OpenAIStreamEncoderOptions;
  private readonly chat: boolean;
  private id: string;
  private model: string;
  private created: number;
  private prefix = '';
  private started = false;
  private closed = false;
  private usage: Usage | undefined;

  constructor(opts: OpenAIStreamEncoderOptions) {
    this.opts = opts;
    this.chat = opts.object === 'chat.completion.chunk';
    this.id = opts.id ?? newId(this.chat ? 'chatcmpl-' : 'cmpl-');
    this.model = opts.model;
    this.created = opts.created ?? nowSeconds();
  }

  /**
   * Takes over a stream someone else began (relayed verbatim until a
   * mid-stream resume): the role chunk was sent; chunks keep the stream's id
   * and creation time and name `model` (the model that finishes the answer).
   */
  continueFrom(s: { id?: string; created?: number; model: string }): void {
    this.started = true;
    if (s.id !== undefined && s.id !== '' && this.opts.id === undefined) this.id = s.id;
    if (s.created !== undefined && this.opts.created === undefined) this.created = s.created;
    this.model = s.model;
    this.prefix = '';
  }

  /** Names the model in the chunks from now on (a stream resumed on another model). */
  setModel(model: string): void {
    if (model === this.model) return;
    this.model = model;
    this.prefix = '';
  }

  /** SSE text for one event (`''` when there is nothing to write). */
  encode(ev: StreamEvent): string {
    if (this.closed) return '';
    switch (ev.type) {
      case 'start':
        if (this.started) return '';
        if (this.opts.id === undefined && ev.id !== '') this.id = ev.id;
        if (ev.model !== '') this.model = ev.model;
        if (this.opts.created === undefined) this.created = ev.created;
        return this.begin();
      case 'text':
        if (ev.text === '') return '';
        return this.begin() + this.chunk(this.chat ? { content: ev.text } : ev.text, null);
      case 'tool': {
        if (!this.chat) return '';
        const fn: Record<string, string> = {};
        if (ev.name !== undefined) fn.name = ev.name;
        fn.arguments = ev.argumentsDelta ?? '';
        const tc: Record<string, unknown> = { index: ev.index };
        if (ev.id !== undefined) {
          tc.id = ev.id;
          tc.type = 'function';
        }
        tc.function = fn;
        return this.begin() + this.chunk({ tool_calls: [tc] }, null);
      }
      case 'finish':
        return this.begin() + this.chunk(this.chat ? {} : '', finishToOpenAI(ev.reason));
      case 'usage':
        this.usage = ev.usage;
        return '';
      case 'error':
        this.closed = true;
        return `data: ${JSON.stringify({
          error: { message: redactForClient(ev.message), type: errorTypeFor(ev.code, 'openai'), param: null, code: ev.code ?? null },
        })}\n\n`;
      case 'done': {
        this.closed = true;
        let out = this.begin();
        if (this.opts.includeUsage && this.usage) {
          out += `data: ${this.head()}],"usage":${JSON.stringify(openAIUsage(this.usage))}}\n\n`;
        }
        return `${out}data: [DONE]\n\n`;
      }
    }
  }

  /** The opening role chunk (chat only), once. */
  private begin(): string {
    if (this.started) return '';
    this.started = true;
    return this.chat ? this.chunk({ role: 'assistant', content: '' }, null) : '';
  }

  /** `{"id":..,"object":..,"created":..,"model":..,"choices":[` — cached, since it is in every chunk. */
  private head(): string {
    if (this.prefix === '') {
      this.prefix = `{"id":${JSON.stringify(this.id)},"object":"${this.opts.object}","created":${this.created},"model":${JSON.stringify(this.model)},"choices":[`;
    }
    return this.prefix;
  }

  private chunk(delta: Record<string, unknown> | string, finish: string | null): string {
    const choice = typeof delta === 'string'
      ? { text: delta, index: 0, logprobs: null, finish_reason: finish }
      : { index: 0, delta, logprobs: null, finish_reason: finish };
    return `data: ${this.head()}${JSON.stringify(choice)}]}\n\n`;
  }
}
