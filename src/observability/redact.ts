/**
 * Scrubbing of log content: known secret values (the upstream API keys in
 * the environment), bearer/basic credentials, and whatever the privacy
 * detector (`routing/signals/privacy.ts`: API keys, tokens, JWTs, private
 * keys, emails, phone, card and account numbers) finds in any string.
 * Complements pino's path-based `redact`, which only knows field names.
 */
import { detectSensitive } from '../routing/signals/privacy.js';
import { redactKnownValues } from './known-secrets.js';

const CREDENTIAL = /\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi;
const MAX_DEPTH = 6;

export { addKnownSecrets } from './known-secrets.js';

/**
 * A text with secrets and detected PII replaced by `[redacted:<kind>]`.
 *
 * @example
 * scrubText('key sk-proj-4f9aQ... for ann@example.org'); // 'key [redacted:api-key] for [redacted:email]'
 */
export function scrubText(text: string): string {
  if (text.length < 6) return text;
  let out = redactKnownValues(text, '[redacted:secret]');
  if (out.includes(' ')) out = out.replace(CREDENTIAL, '$1 [redacted]');
  const found = detectSensitive(out, { spans: true }).spans!;
  if (found.length === 0) return out;
  let res = '';
  let at = 0;
  for (const sp of found) {
    if (sp.start < at) continue;
    res += `${out.slice(at, sp.start)}[redacted:${sp.kind}]`;
    at = sp.end;
  }
  return res + out.slice(at);
}

/**
 * A value with every string scrubbed (objects and arrays copied only where
 * something changed; errors copied with the same prototype).
 */
export function scrubValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return scrubText(v);
  if (v === null || typeof v !== 'object' || depth > MAX_DEPTH) return v;
  if (v instanceof Error) {
    // Same prototype (so serializers still see the error's type), scrubbed text, own fields scrubbed.
    const e = Object.create(Object.getPrototypeOf(v) as object) as Error & Record<string, unknown>;
    for (const k of Object.keys(v)) e[k] = scrubValue((v as unknown as Record<string, unknown>)[k], depth + 1);
    Object.defineProperty(e, 'message', { value: scrubText(v.message), enumerable: false, writable: true });
    if (v.stack) Object.defineProperty(e, 'stack', { value: scrubText(v.stack), enumerable: false, writable: true });
    if (v.cause !== undefined) e.cause = scrubValue(v.cause, depth + 1);
    return e;
  }
  if (Array.isArray(v)) {
    let copy: unknown[] | undefined;
    v.forEach((x, i) => {
      const y = scrubValue(x, depth + 1);
      if (y !== x) (copy ??= [...v])[i] = y;
    });
    return copy ?? v;
  }
  if (Buffer.isBuffer(v) || ArrayBuffer.isView(v)) return v;
  let copy: Record<string, unknown> | undefined;
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    const y = scrubValue(x, depth + 1);
    if (y !== x) (copy ??= { ...(v as Record<string, unknown>) })[k] = y;
  }
  return copy ?? v;
}
