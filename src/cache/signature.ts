/**
 * The verification signature a semantic entry keeps instead of its prompt
 * text: the verifier's view of the question (content-word stems with their
 * rarity, names, numbers, negation, question type), every word, name and
 * number as a 32-bit digest. Compact, one line, stable across processes.
 *
 * Format (version 1): `s1|<question type>|<negated 0/1>|<words>|<names>|<numbers>`, where
 * words are `,`-separated `digest~rarity×1000~prefix digest~…` and names and numbers are
 * `,`-separated digests (digests and rarities in base 36).
 *
 * The digests are not encryption: anyone holding the store and a word list can tell which
 * common words a question had. They keep the text out of the store, not the vocabulary.
 */
import { textSignature, type TextSignature } from './verify.js';

const VERSION = 's1';

/** One-line form of a {@link TextSignature}. */
export function serializeSignature(sig: TextSignature): string {
  const words = sig.words.map((w) => [w.h, Math.round(w.r * 1000).toString(36), ...w.pre].join('~')).join(',');
  return [VERSION, sig.questionType, sig.negated ? '1' : '0', words, [...sig.entities].join(','), [...sig.numbers].join(',')].join('|');
}

/** The signature stored for a question (what `serializeSignature(textSignature(text))` gives). */
export function signatureOf(text: string): string {
  return serializeSignature(textSignature(text));
}

/** Parses {@link serializeSignature}'s output; `undefined` for anything else (an unknown version: the entry cannot be verified). */
export function parseSignature(s: string): TextSignature | undefined {
  const parts = s.split('|');
  if (parts.length !== 6 || parts[0] !== VERSION) return undefined;
  const list = (x: string) => (x === '' ? [] : x.split(','));
  const words = list(parts[3]!).map((w) => {
    const [h, r, ...pre] = w.split('~');
    return { h: h!, r: parseInt(r ?? '0', 36) / 1000, pre };
  });
  return { questionType: parts[1]!, negated: parts[2] === '1', words, entities: new Set(list(parts[4]!)), numbers: new Set(list(parts[5]!)) };
}
