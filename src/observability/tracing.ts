/**
 * OpenTelemetry spans through `@opentelemetry/api`: a no-op unless the host
 * registers an SDK. One CLIENT span per request, named
 * `{gen_ai.operation.name} {gen_ai.request.model}`, timed from arrival to the
 * end of the answer, with the gen_ai semantic-convention attributes and the
 * routing decision as `switchyard.*` attributes.
 */
import { SpanKind, SpanStatusCode, trace, type Attributes, type Tracer } from '@opentelemetry/api';
import type { SwitchyardConfig } from '../config/schema.js';
import type { DecisionRecord } from './events.js';

const OPERATION: Record<string, string> = { chat: 'chat', completion: 'text_completion', embedding: 'embeddings' };

/**
 * @example
 * const spans = new DecisionTracer(() => sy.config);
 * sy.events.on('decision', (r) => spans.record(r));
 */
export class DecisionTracer {
  private readonly tracer: Tracer;
  private kinds = new Map<string, string>();
  private seen: SwitchyardConfig | undefined;

  constructor(private readonly config: () => SwitchyardConfig) {
    this.tracer = trace.getTracer('switchyard');
  }

  /** The gen_ai.system of an upstream (`openai`, `anthropic`), or of the client's protocol for a cache hit or rejection. */
  private system(r: DecisionRecord): string {
    const cfg = this.config();
    if (cfg !== this.seen) {
      this.seen = cfg;
      this.kinds = new Map(cfg.upstreams.map((u) => [u.name, u.kind === 'anthropic' || u.mock?.protocol === 'anthropic' ? 'anthropic' : 'openai']));
    }
    return (r.upstream !== undefined && this.kinds.get(r.upstream)) || r.protocol;
  }

  /** Records the span of one finished request. */
  record(r: DecisionRecord): void {
    const end = Date.parse(r.time);
    const op = OPERATION[r.operation] ?? r.operation;
    const span = this.tracer.startSpan(`${op} ${r.requested}`, { kind: SpanKind.CLIENT, startTime: end - r.durationMs });
    // Without an SDK the span is a no-op: skip building its attributes.
    if (!span.isRecording()) return;
    let attempts = 0;
    for (const a of r.attempts) if (a.outcome !== 'skipped') attempts++;
    const attributes: Attributes = {
      'gen_ai.operation.name': op,
      'gen_ai.system': this.system(r),
      'gen_ai.request.model': r.requested,
      'http.response.status_code': r.status,
      'switchyard.request_id': r.id,
      'switchyard.cache': r.cache,
      'switchyard.attempts': attempts,
      'switchyard.complete': r.complete,
    };
    if (r.model !== undefined) attributes['gen_ai.response.model'] = r.model;
    if (r.inputTokens !== undefined) attributes['gen_ai.usage.input_tokens'] = r.inputTokens;
    if (r.outputTokens !== undefined) attributes['gen_ai.usage.output_tokens'] = r.outputTokens;
    if (r.tier !== undefined) attributes['switchyard.tier'] = r.tier;
    if (r.upstream !== undefined) attributes['switchyard.upstream'] = r.upstream;
    if (r.reason !== undefined) attributes['switchyard.route.reason'] = r.reason;
    if (r.similarity !== undefined) attributes['switchyard.cache.similarity'] = r.similarity;
    if (r.ttftMs !== undefined) attributes['switchyard.ttft_ms'] = r.ttftMs;
    if (r.costUsd !== undefined) attributes['switchyard.cost_usd'] = r.costUsd;
    if (r.savingsUsd !== undefined) attributes['switchyard.savings_usd'] = r.savingsUsd;
    if (r.budget !== undefined) attributes['switchyard.budget'] = r.budget;
    if (r.error !== undefined) attributes['error.type'] = r.error;
    span.setAttributes(attributes);
    if (r.status >= 400 || !r.complete) span.setStatus({ code: SpanStatusCode.ERROR, ...(r.error ? { message: r.error } : {}) });
    span.end(end);
  }
}
