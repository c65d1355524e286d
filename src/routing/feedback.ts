/**
 * `POST /switchyard/feedback {request_id, score}`: a client's verdict on one
 * routed answer, fed to the router's learning. `score` is a number from 0
 * (bad) to 1 (good), or a boolean. Answers the updated estimate as JSON;
 * errors in OpenAI error format.
 */
import { SwitchyardError, toSwitchyardError } from '../errors.js';
import { errorOutcome } from '../core/render.js';
import type { RespondOutcome } from '../core/outcome.js';
import type { Router } from './router.js';

/** The path the faces mount. */
export const FEEDBACK_PATH = '/switchyard/feedback';

/** Largest feedback body read. */
export const FEEDBACK_BODY_LIMIT = 16 * 1024;

/** Whether a request path (query ignored) is the feedback endpoint. */
export function isFeedbackPath(path: string): boolean {
  const q = path.indexOf('?');
  return (q === -1 ? path : path.slice(0, q)) === FEEDBACK_PATH;
}

/** Parses a feedback body (bytes, text or an already parsed object). */
export function parseFeedback(body: unknown): { requestId: string; score: number } {
  let v: unknown = body;
  if (Buffer.isBuffer(v)) v = v.toString('utf8');
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      throw new SwitchyardError('invalid_json', 'the feedback body is not valid JSON');
    }
  }
  const o = v as { request_id?: unknown; score?: unknown };
  if (typeof v !== 'object' || v === null || typeof o.request_id !== 'string' || o.request_id === '') {
    throw new SwitchyardError('invalid_request', 'feedback needs `request_id` (the x-switchyard-request-id of the answer) and `score` (0..1)', { param: 'request_id' });
  }
  const score = typeof o.score === 'boolean' ? Number(o.score) : o.score;
  if (typeof score !== 'number' || !(score >= 0 && score <= 1)) {
    throw new SwitchyardError('invalid_request', '`score` must be a number from 0 to 1 (or a boolean)', { param: 'score' });
  }
  return { requestId: o.request_id, score };
}

/**
 * Handles one feedback request and returns the response to write.
 *
 * @example
 * const out = feedbackOutcome(sy.router, 'POST', '{"request_id":"…","score":1}', { tenant: 't:acme' });
 * out.status; // 200
 */
export function feedbackOutcome(router: Router, method: string, body: unknown, by: { tenant?: string; admin?: boolean } = { admin: true }): RespondOutcome {
  try {
    if (method !== 'POST') throw new SwitchyardError('method_not_allowed', `${method} is not allowed on ${FEEDBACK_PATH}; use POST`);
    const { requestId, score } = parseFeedback(body);
    const result = router.feedback(requestId, score, by);
    return { type: 'respond', ctx: undefined, status: 200, headers: {}, contentType: 'application/json', body: JSON.stringify(result) };
  } catch (e) {
    return errorOutcome(toSwitchyardError(e), 'openai', undefined);
  }
}
