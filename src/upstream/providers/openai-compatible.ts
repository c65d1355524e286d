/** OpenAI and every server that speaks its API (vLLM, llama.cpp's llama-server, Ollama, Azure-style gateways). */
import type { CanonicalEmbeddingResponse, CanonicalResponse, Operation } from '../../protocol/canonical.js';
import {
  openAIChatResponseToCanonical,
  openAICompletionResponseToCanonical,
  openAIEmbeddingResponseToCanonical,
  toOpenAIChatBody,
  toOpenAICompletionBody,
  toOpenAIEmbeddingBody,
} from '../../protocol/openai.js';
import { OpenAIStreamDecoder } from '../../protocol/openai-stream.js';
import { splicedBody, type BuildInput, type Provider, type StreamDecoder, type UpstreamRequestSpec } from './provider.js';

const PATHS: Record<Operation, string> = {
  chat: '/chat/completions',
  completion: '/completions',
  embedding: '/embeddings',
};

export interface OpenAICompatibleOptions {
  basePath: string;
  apiKey: string | undefined;
  headers: Record<string, string>;
  streamUsage: boolean;
}

export class OpenAICompatibleProvider implements Provider {
  readonly protocol = 'openai' as const;
  private readonly headers: Record<string, string>;

  constructor(private readonly opts: OpenAICompatibleOptions) {
    this.headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      // Readable answers: no decompression on the hot path (compressed ones are still decoded).
      'accept-encoding': 'identity',
      ...opts.headers,
    };
    if (opts.apiKey) this.headers.authorization = `Bearer ${opts.apiKey}`;
  }

  probeHeaders(): Record<string, string> {
    return this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
  }

  supports(): boolean {
    return true;
  }

  build({ req, raw, rawBytes, upstreamModel, proxied }: BuildInput): UpstreamRequestSpec {
    const path = this.opts.basePath + PATHS[req.operation];
    let body: Record<string, unknown>;
    let injectedStreamUsage = false;
    if (req.protocol === 'openai' && rawBytes) {
      // Same protocol: the client's bytes with only the model (and usage request) spliced in.
      const inject = !proxied && req.stream && this.opts.streamUsage && raw.stream_options === undefined && req.operation !== 'embedding';
      const members: Record<string, string> = {};
      if (raw.model !== upstreamModel) members.model = JSON.stringify(upstreamModel);
      if (inject) members.stream_options = '{"include_usage":true}';
      const spliced = splicedBody(rawBytes, members);
      if (spliced) return { path, headers: this.headers, body: spliced, injectedStreamUsage: inject, unchanged: spliced === rawBytes };
    }
    if (req.protocol === 'openai') {
      // Same protocol: forward the client's body with only the model (and usage request) changed.
      body = raw.model === upstreamModel ? raw : { ...raw, model: upstreamModel };
      if (!proxied && req.stream && this.opts.streamUsage && raw.stream_options === undefined && req.operation !== 'embedding') {
        body = body === raw ? { ...raw } : body;
        body.stream_options = { include_usage: true };
        injectedStreamUsage = true;
      }
    } else if (req.operation === 'embedding') {
      body = toOpenAIEmbeddingBody(req, upstreamModel);
    } else if (req.operation === 'completion') {
      body = toOpenAICompletionBody(req, upstreamModel);
    } else {
      body = toOpenAIChatBody(req, upstreamModel, { streamUsage: this.opts.streamUsage });
      injectedStreamUsage = req.stream && this.opts.streamUsage;
    }
    if (body === raw && rawBytes) return { path, headers: this.headers, body: rawBytes, injectedStreamUsage, unchanged: true };
    return { path, headers: this.headers, body: JSON.stringify(body), injectedStreamUsage, unchanged: body === raw };
  }

  parseResponse(op: Operation, json: unknown): CanonicalResponse | CanonicalEmbeddingResponse {
    if (op === 'embedding') return openAIEmbeddingResponseToCanonical(json);
    if (op === 'completion') return openAICompletionResponseToCanonical(json);
    return openAIChatResponseToCanonical(json);
  }

  decoder(): StreamDecoder {
    const d = new OpenAIStreamDecoder();
    return { push: (_event, data) => d.push(data) };
  }
}
