/** Anthropic's Messages API. Completions are served as one user turn; embeddings are not offered. */
import type { CanonicalEmbeddingResponse, CanonicalResponse, Operation } from '../../protocol/canonical.js';
import { anthropicResponseToCanonical, toAnthropicBody } from '../../protocol/anthropic.js';
import { AnthropicStreamDecoder } from '../../protocol/anthropic-stream.js';
import { splicedBody, type BuildInput, type Provider, type StreamDecoder, type UpstreamRequestSpec } from './provider.js';

export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicOptions {
  basePath: string;
  apiKey: string | undefined;
  headers: Record<string, string>;
  /** max_tokens when the client (an OpenAI client) gave none; Anthropic requires it. */
  defaultMaxTokens: number;
}

export class AnthropicProvider implements Provider {
  readonly protocol = 'anthropic' as const;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: AnthropicOptions) {
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      // Readable answers: no decompression on the hot path (compressed ones are still decoded).
      'accept-encoding': 'identity',
      'anthropic-version': ANTHROPIC_VERSION,
      ...opts.headers,
    };
    if (opts.apiKey) this.headers['x-api-key'] = opts.apiKey;
  }

  supports(op: Operation): boolean {
    return op !== 'embedding';
  }

  build({ req, raw, rawBytes, upstreamModel }: BuildInput): UpstreamRequestSpec {
    if (req.protocol === 'anthropic' && rawBytes) {
      // Same protocol: the client's bytes with only the model spliced in.
      const spliced = splicedBody(rawBytes, raw.model === upstreamModel ? {} : { model: JSON.stringify(upstreamModel) });
      if (spliced) return { path: `${this.opts.basePath}/messages`, headers: this.headers, body: spliced, injectedStreamUsage: false, unchanged: spliced === rawBytes };
    }
    const body =
      req.protocol === 'anthropic'
        ? raw.model === upstreamModel
          ? raw
          : { ...raw, model: upstreamModel }
        : toAnthropicBody(req, upstreamModel, { defaultMaxTokens: this.opts.defaultMaxTokens });
    const path = `${this.opts.basePath}/messages`;
    if (body === raw && rawBytes) return { path, headers: this.headers, body: rawBytes, injectedStreamUsage: false, unchanged: true };
    return { path, headers: this.headers, body: JSON.stringify(body), injectedStreamUsage: false, unchanged: body === raw };
  }

  parseResponse(_op: Operation, json: unknown): CanonicalResponse | CanonicalEmbeddingResponse {
    return anthropicResponseToCanonical(json);
  }

  decoder(): StreamDecoder {
    const d = new AnthropicStreamDecoder();
    return { push: (event, data) => d.push(event, data), position: () => d.position };
  }
}
