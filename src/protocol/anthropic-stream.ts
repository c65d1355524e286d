/**
 * Anthropic Messages streaming SSE ↔ canonical stream events.
 */
import type { FinishReason, StreamEvent, Usage } from './canonical.js';
import { MALFORMED_CHUNK } from './openai-stream.js';
import { errorTypeFor, finishFromAnthropic, finishToAnthropic, isKnownFinish, isObject, newId, nowSeconds, tokenCount } from './wire-util.js';
import { redactForClient } from '../observability/known-secrets.js';

const INPUT_FIELDS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/** Where an Anthropic event stream stands: the open text block (if any) and the next free block index. */
export interface AnthropicBlockPosition {
  openText: number | undefined;
  nextIndex: number;
}

/**
 * Decodes an Anthropic stream, one SSE event at a time. Text and `tool_use`
 * blocks become `text`/`tool` events (tool indexes count tool blocks only);
 * thinking blocks and `ping` are ignored; unknown events are skipped, as
 * Anthropic's versioning policy asks.
 *
 * @example
 * const d = new AnthropicStreamDecoder();
 * d.push('content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}');
 * // [{ type: 'text', text: 'Hi' }]
 */
export class AnthropicStreamDecoder {
  /** Anthropic block index → canonical tool index. */
  private readonly toolOf = new Map<number, number>();
  private tools = 0;
  /** Input-side usage from `message_start`, by field; `message_delta` values override. */
  private readonly input: Record<(typeof INPUT_FIELDS)[number], number> = {
    input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0,
  };
  /** Block bookkeeping, so a stream relayed verbatim can be continued by an encoder (mid-stream resume). */
  readonly position: AnthropicBlockPosition = { openText: undefined, nextIndex: 0 };

  /** Decodes one SSE event (`event` name may be absent; the JSON `type` decides). */
  push(event: string | undefined, data: string): StreamEvent[] {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      return [{ ...MALFORMED_CHUNK }];
    }
    if (!isObject(json)) return [{ ...MALFORMED_CHUNK }];
    const type = typeof json.type === 'string' ? json.type : event;
    switch (type) {
      case 'message_start': {
        const m = isObject(json.message) ? json.message : {};
        if (isObject(m.usage)) for (const f of INPUT_FIELDS) this.input[f] = tokenCount(m.usage[f]);
        return [{
          type: 'start',
          id: typeof m.id === 'string' && m.id !== '' ? m.id : newId('msg_'),
          model: typeof m.model === 'string' ? m.model : '',
          created: nowSeconds(),
        }];
      }
      case 'content_block_start': {
        const b = isObject(json.content_block) ? json.content_block : {};
        if (typeof json.index === 'number') {
          this.position.nextIndex = Math.max(this.position.nextIndex, json.index + 1);
          if (b.type === 'text') this.position.openText = json.index;
        }
        if (b.type === 'text') return typeof b.text === 'string' && b.text !== '' ? [{ type: 'text', text: b.text }] : [];
        if (b.type !== 'tool_use') return [];
        const index = this.tools++;
        if (typeof json.index === 'number') this.toolOf.set(json.index, index);
        const ev: StreamEvent = { type: 'tool', index, id: typeof b.id === 'string' ? b.id : newId('toolu_'), name: typeof b.name === 'string' ? b.name : '' };
        if (isObject(b.input) && Object.keys(b.input).length > 0) ev.argumentsDelta = JSON.stringify(b.input);
        return [ev];
      }
      case 'content_block_delta': {
        const d = isObject(json.delta) ? json.delta : {};
        if (d.type === 'text_delta') return typeof d.text === 'string' && d.text !== '' ? [{ type: 'text', text: d.text }] : [];
        if (d.type !== 'input_json_delta' || typeof d.partial_json !== 'string' || d.partial_json === '') return [];
        const index = typeof json.index === 'number' ? this.toolOf.get(json.index) : undefined;
        return index === undefined ? [] : [{ type: 'tool', index, argumentsDelta: d.partial_json }];
      }
      case 'message_delta': {
        const out: StreamEvent[] = [];
        const raw = isObject(json.delta) ? json.delta.stop_reason : undefined;
        const reason = finishFromAnthropic(raw);
        if (reason) out.push(isKnownFinish('anthropic', raw) ? { type: 'finish', reason } : { type: 'finish', reason, unknown: true });
        if (isObject(json.usage)) {
          const u = json.usage;
          let inputTokens = 0;
          for (const f of INPUT_FIELDS) inputTokens += typeof u[f] === 'number' ? tokenCount(u[f]) : this.input[f];
          out.push({ type: 'usage', usage: { inputTokens, outputTokens: tokenCount(u.output_tokens) } });
        }
        return out;
      }
      case 'message_stop':
        return [{ type: 'done' }];
      case 'error': {
        const e = isObject(json.error) ? json.error : {};
        return [{
          type: 'error',
          message: typeof e.message === 'string' ? e.message : 'upstream stream error',
          code: typeof e.type === 'string' ? e.type : 'api_error',
        }];
      }
      case 'content_block_stop':
        if (json.index === this.position.openText) this.position.openText = undefined;
        return [];
      default: // ping, future event types
        return [];
    }
  }
}

/** Options for {@link AnthropicStreamEncoder}. */
export interface AnthropicStreamEncoderOptions {
  /** Message id; defaults to the `start` event's, else a fresh `msg_...`. */
  id?: string;
  /** Model name shown until a `start` event names the model that answered. */
  model: string;
  /** Input tokens for `message_start`, when known before the stream (final usage is sent in `message_delta`). */
  inputTokens?: number;
}

type OpenBlock = { kind: 'text' } | { kind: 'tool'; tool: number } | null;

/**
 * Encodes canonical stream events as the Anthropic event sequence:
 * `message_start`, then `content_block_start`/`_delta`/`_stop` per text or
 * `tool_use` block, then `message_delta` (stop reason, usage) and
 * `message_stop` on `done`. An `error` renders as `event: error` and ends it.
 *
 * Tool calls are expected one after another (as every known upstream streams
 * them); a block cannot be reopened, so an argument delta for a tool whose
 * block was already closed is dropped.
 *
 * @example
 * const enc = new AnthropicStreamEncoder({ model: 'claude-sonnet-4-5' });
 * res.write(enc.encode({ type: 'text', text: 'Hi' }));
 */
export class AnthropicStreamEncoder {
  private readonly opts: AnthropicStreamEncoderOptions;
  private id: string;
  private model: string;
  private started = false;
  private closed = false;
  private nextBlock = 0;
  private open: OpenBlock = null;
  private readonly seenTools = new Set<number>();
  private stop: FinishReason | undefined;
  private usage: Usage | undefined;

  constructor(opts: AnthropicStreamEncoderOptions) {
    this.opts = opts;
    this.id = opts.id ?? newId('msg_');
    this.model = opts.model;
  }

  /**
   * Takes over a stream someone else began (relayed verbatim until a
   * mid-stream resume): `message_start` was sent; text continues in the open
   * text block, or in a new block at `nextIndex`.
   */
  continueFrom(pos: AnthropicBlockPosition): void {
    this.started = true;
    if (pos.openText !== undefined) {
      this.open = { kind: 'text' };
      this.nextBlock = pos.openText;
    } else {
      this.open = null;
      this.nextBlock = pos.nextIndex;
    }
  }

  /** SSE text for one event (`''` when there is nothing to write). */
  encode(ev: StreamEvent): string {
    if (this.closed) return '';
    switch (ev.type) {
      case 'start':
        if (this.started) return '';
        if (this.opts.id === undefined && ev.id !== '') this.id = ev.id;
        if (ev.model !== '') this.model = ev.model;
        return this.begin();
      case 'text': {
        if (ev.text === '') return '';
        let out = this.begin();
        if (this.open?.kind !== 'text') {
          out += this.closeBlock();
          out += sse('content_block_start', { type: 'content_block_start', index: this.nextBlock, content_block: { type: 'text', text: '' } });
          this.open = { kind: 'text' };
        }
        return out + sse('content_block_delta', { type: 'content_block_delta', index: this.nextBlock, delta: { type: 'text_delta', text: ev.text } });
      }
      case 'tool':
        return this.tool(ev);
      case 'finish':
        this.stop = ev.reason;
        return this.begin() + this.closeBlock();
      case 'usage':
        this.usage = ev.usage;
        return '';
      case 'error':
        this.closed = true;
        return sse('error', { type: 'error', error: { type: errorTypeFor(ev.code, 'anthropic'), message: redactForClient(ev.message) } });
      case 'done': {
        this.closed = true;
        const usage: Record<string, number> = { output_tokens: this.usage?.outputTokens ?? 0 };
        if (this.usage) usage.input_tokens = this.usage.inputTokens;
        return this.begin() + this.closeBlock()
          + sse('message_delta', {
            type: 'message_delta',
            delta: { stop_reason: this.stop === undefined ? null : finishToAnthropic(this.stop), stop_sequence: null },
            usage,
          })
          + sse('message_stop', { type: 'message_stop' });
      }
    }
  }

  private tool(ev: StreamEvent & { type: 'tool' }): string {
    let out = this.begin();
    const isOpen = this.open?.kind === 'tool' && this.open.tool === ev.index;
    if (!isOpen) {
      if (this.seenTools.has(ev.index)) return out; // closed block: cannot be reopened
      this.seenTools.add(ev.index);
      out += this.closeBlock();
      out += sse('content_block_start', {
        type: 'content_block_start',
        index: this.nextBlock,
        content_block: { type: 'tool_use', id: ev.id ?? newId('toolu_'), name: ev.name ?? '', input: {} },
      });
      this.open = { kind: 'tool', tool: ev.index };
    }
    if (ev.argumentsDelta) {
      out += sse('content_block_delta', {
        type: 'content_block_delta', index: this.nextBlock, delta: { type: 'input_json_delta', partial_json: ev.argumentsDelta },
      });
    }
    return out;
  }

  private begin(): string {
    if (this.started) return '';
    this.started = true;
    return sse('message_start', {
      type: 'message_start',
      message: {
        id: this.id, type: 'message', role: 'assistant', model: this.model, content: [],
        stop_reason: null, stop_sequence: null,
        usage: { input_tokens: this.opts.inputTokens ?? 0, output_tokens: 0 },
      },
    });
  }

  private closeBlock(): string {
    if (this.open === null) return '';
    this.open = null;
    return sse('content_block_stop', { type: 'content_block_stop', index: this.nextBlock++ });
  }
}

function sse(event: string, payload: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`;
}
