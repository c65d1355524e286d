/**
 * The request that continues an answer which failed mid-stream: the
 * original request with the delivered text as a final assistant message
 * (assistant prefill). Anthropic's Messages API continues such a message;
 * OpenAI-compatible servers do when configured with `prefill: true`.
 */
import { contentText, type CanonicalMessage } from '../protocol/canonical.js';
import type { BuildInput } from './providers/provider.js';
import type { Deployment } from './deployment.js';

/** Whether the deployment is known to continue an assistant prefill. */
export function acceptsPrefill(d: Deployment): boolean {
  return d.upstream.config.kind === 'anthropic' || d.upstream.config.prefill;
}

export interface PrefillInput {
  input: BuildInput;
  /** Trailing whitespace was dropped from the prefill (Anthropic rejects it). */
  trimmed: boolean;
}

/**
 * The build input asking a candidate to continue `delivered`. When the
 * client's own request already ended with an assistant turn (a client-side
 * prefill), the delivered text extends that turn.
 *
 * @example
 * const { input } = prefillInput({ req, raw, upstreamModel: 'claude-sonnet-4-5' }, 'The answer is');
 * provider.build(input); // messages end with { role: 'assistant', content: 'The answer is' }
 */
export function prefillInput(base: BuildInput, delivered: string): PrefillInput {
  const { req, raw } = base;
  const last = req.messages.at(-1);
  const clientPrefill = last?.role === 'assistant' && !last.toolCalls?.length ? contentText(last.content) : undefined;
  const full = (clientPrefill ?? '') + delivered;
  const text = full.trimEnd();
  const assistant: CanonicalMessage = { role: 'assistant', content: text };
  const messages = clientPrefill === undefined ? [...req.messages, assistant] : [...req.messages.slice(0, -1), assistant];
  const rawMessages = Array.isArray(raw.messages) ? (raw.messages as unknown[]) : [];
  const rawAssistant = { role: 'assistant', content: text };
  const nextRaw = clientPrefill === undefined ? [...rawMessages, rawAssistant] : [...rawMessages.slice(0, -1), rawAssistant];
  return {
    input: {
      req: { ...req, messages },
      raw: { ...raw, messages: nextRaw },
      rawBytes: undefined,
      upstreamModel: base.upstreamModel,
    },
    trimmed: text.length < full.length,
  };
}
