/**
 * The configured credential values (upstream API keys, credential-named
 * upstream headers) and the one function that removes them, by exact value
 * and by shape, from text a client or a log may see. Exact values matter
 * because a key need not look like one: `zz-live-…` has no `sk-` prefix for
 * a pattern to catch, yet an upstream may echo it back in an error body.
 *
 * Module state on purpose: every Switchyard in the process shares one set of
 * values never to show, and an upstream registering its key needs no handle
 * on the renderers.
 */

/** Values shorter than this are not treated as secrets (too likely to occur by chance). */
const MIN_SECRET = 8;
const values = new Set<string>();
/** Longest first, so a key that contains another key is replaced whole. */
let ordered: string[] = [];
/** The same values as UTF-8 bytes, for byte scans of relayed streams (Buffer.indexOf). */
let orderedBytes: Buffer[] = [];

/** Header names whose values are credentials. */
const CREDENTIAL_HEADER = /authorization|api[-_]?key|token|secret|password|credential|cookie/i;

const SHAPES: readonly [RegExp, string][] = [
  [/\b(?:sk|pk|rk)-[A-Za-z0-9_*.-]{6,}/g, '[redacted]'], // OpenAI/Anthropic style keys, including masked ones
  [/\bAIza[0-9A-Za-z_-]{20,}/g, '[redacted]'], // Google API keys
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=*-]+/gi, '$1 [redacted]'],
  [/\b((?:x-)?api[-_]?key|access[-_]?token|secret)(["']?\s*[:=]\s*["']?)[^\s"',}]+/gi, '$1$2[redacted]'],
];

/**
 * Registers secret values (e.g. API keys read from the environment) that
 * must never reach a client or a log, wherever they occur. Values shorter
 * than 8 characters are ignored.
 *
 * @example
 * addKnownSecrets([process.env.OPENAI_API_KEY]);
 */
export function addKnownSecrets(list: Iterable<string | undefined>): void {
  let changed = false;
  for (const v of list) {
    if (v && v.length >= MIN_SECRET && !values.has(v)) {
      values.add(v);
      changed = true;
    }
  }
  if (changed) {
    ordered = [...values].sort((a, b) => b.length - a.length);
    orderedBytes = ordered.map((v) => Buffer.from(v, 'utf8'));
  }
}

/** The registered values as bytes, longest first (shared; do not mutate). */
export function knownSecretBytes(): readonly Buffer[] {
  return orderedBytes;
}

/**
 * Registers the values of credential-named headers (`authorization`,
 * `x-api-key`, `*token*`, `*secret*`, ...) of an upstream's extra headers.
 *
 * @example
 * addSecretHeaders({ 'x-api-key': 'zz-live-abc', 'anthropic-version': '2023-06-01' }); // registers only the key
 */
export function addSecretHeaders(headers: Record<string, string>): void {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!CREDENTIAL_HEADER.test(name)) continue;
    out.push(value);
    // `Bearer <token>`: the token alone may be echoed too.
    const m = /^\s*(?:Bearer|Basic|Token)\s+(\S+)\s*$/i.exec(value);
    if (m?.[1]) out.push(m[1]);
  }
  addKnownSecrets(out);
}

/** Replaces every registered secret value in `text` with `replacement`. */
export function redactKnownValues(text: string, replacement = '[redacted]'): string {
  let out = text;
  for (const s of ordered) if (out.includes(s)) out = out.split(s).join(replacement);
  return out;
}

/**
 * Text safe to show a client: registered secret values replaced by exact
 * value, then anything shaped like a credential (`sk-…`, `Bearer …`,
 * `api_key=…`). Cheap when nothing matches: one `includes` per registered
 * value and four regex scans.
 *
 * @example
 * redactForClient('Incorrect API key provided: zz-live-abc123def'); // after addKnownSecrets(['zz-live-abc123def']):
 * // 'Incorrect API key provided: [redacted]'
 */
export function redactForClient(text: string): string {
  let out = redactKnownValues(text);
  for (const [re, to] of SHAPES) out = out.replace(re, to);
  return out;
}
