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
import type { BuildInput, Provider, StreamDecoder, UpstreamRequestSpec } from './provider.js';

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
    this.headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...opts.headers };
    if (opts.apiKey) this.headers.authorization = `Bearer ${opts.apiKey}`;
  }

  probeHeaders(): Record<string, string> {
    return this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {};
  }

  supports(): boolean {
    return true;
  }

  build({ req, raw, rawBytes, upstreamModel }: BuildInput): UpstreamRequestSpec {
    const path = this.opts.basePath + PATHS[req.operation];
    let body: Record<string, unknown>;
    let injectedStreamUsage = false;
    if (req.protocol === 'openai') {
      // Same protocol: forward the client's body with only the model (and usage request) changed.
      body = raw.model === upstreamModel ? raw : { ...raw, model: upstreamModel };
      if (req.stream && this.opts.streamUsage && raw.stream_options === undefined && req.operation !== 'embedding') {
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
