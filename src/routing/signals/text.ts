/**
 * Text views of a request shared by the signals. Each walks the request once
 * and builds at most one string, so the hot path allocates little.
 */
import { contentText, type CanonicalRequest } from '../../protocol/canonical.js';

/**
 * The text of the last user turn (the ask the router is judging), or `''`.
 *
 * @example
 * lastUserText({ ...req, messages: [{ role: 'user', content: 'hi' }] }); // 'hi'
 */
export function lastUserText(req: CanonicalRequest): string {
  const msgs = req.messages;
  for (let i = msgs.length - 1; i >= 0; i--) {
    const m = msgs[i]!;
    if (m.role === 'user') return contentText(m.content);
  }
  return '';
}

/**
 * All message text (system first, then every turn and tool-call argument),
 * joined by newlines. Tool definitions are not included.
 *
 * @example
 * allMessageText(req); // 'You are terse.\nhi\nHello!'
 */
export function allMessageText(req: CanonicalRequest): string {
  let out = req.system ?? '';
  for (const m of req.messages) {
    const t = contentText(m.content);
    if (t.length > 0) out = out.length > 0 ? `${out}\n${t}` : t;
    if (m.toolCalls) for (const c of m.toolCalls) out = `${out}\n${c.arguments}`;
  }
  return out;
}

/**
 * Counts matches of a global regex in `text`, stopping at `cap`. The regex
 * must carry the `g` flag; its `lastIndex` is reset before and after.
 */
export function countMatches(re: RegExp, text: string, cap = 1_000): number {
  re.lastIndex = 0;
  let n = 0;
  let m: RegExpExecArray | null;
  while (n < cap && (m = re.exec(text)) !== null) {
    n++;
    if (m[0].length === 0) re.lastIndex++; // never loop on an empty match
  }
  re.lastIndex = 0;
  return n;
}
