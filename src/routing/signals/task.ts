/**
 * The task signal: what kind of work a request asks for. Keyword and shape
 * cues first; when the caller passes the request's embedding (already
 * computed for the semantic cache) and a prototype index, similarity to
 * labelled prototype sentences backs the keywords up or stands in for them.
 */
import type { Embedder } from '../../embedding/embedder.js';
import type { CanonicalRequest } from '../../protocol/canonical.js';
import { CueFilter } from './prefilter.js';
import { TASK_PROTOTYPES } from './task-prototypes.js';
import { lastUserText } from './text.js';

/** The kinds of task the router tells apart. */
export type TaskType = 'chat' | 'qa' | 'code' | 'summarization' | 'extraction' | 'translation' | 'creative' | 'reasoning' | 'agentic';

/** Every task type, in a fixed order. */
export const TASK_TYPES: readonly TaskType[] = ['chat', 'qa', 'code', 'summarization', 'extraction', 'translation', 'creative', 'reasoning', 'agentic'];

/** The task signal. */
export interface TaskResult {
  type: TaskType;
  /** 0..1. */
  confidence: number;
  /** Which evidence decided: keyword/shape cues, prototype similarity, or both agreeing. */
  by: 'keywords' | 'embedding' | 'both';
}

/** Embedded prototype sentences, built once at start by `buildPrototypeIndex`. */
export interface PrototypeIndex {
  /** `Embedder.id` of the model that embedded the prototypes. */
  embedderId: string;
  dim: number;
  labels: readonly TaskType[];
  vectors: readonly Float32Array[];
}

type Cue = readonly [RegExp, number];

const CUES: Readonly<Record<TaskType, readonly Cue[]>> = {
  chat: [[/^\s*(?:hi|hello|hey|yo|thanks|thank you|good (?:morning|afternoon|evening|night)|how are you|what's up|bye|lol|haha)\b/i, 2]],
  qa: [
    [/^\s*(?:who|what|when|where|which|why|how|is|are|was|were|does|do|did|can|could|should|would|will)\b[^\n]{0,200}\?\s*$/i, 1],
    [/\b(?:what is|what are|who (?:is|was)|define|definition of|meaning of|explain|describe|tell me about|overview of)\b/i, 0.8],
    [/^[ \t]*\(?[A-D][.)][ \t]+\S[^\n]*\n[ \t]*\(?[A-D][.)][ \t]+\S/m, 1.5],
  ],
  code: [
    [/```/, 2],
    [/\b(?:python|javascript|typescript|java|rust|golang|c\+\+|c#|kotlin|swift|ruby|php|scala|haskell|bash|powershell|sql|regex|html|css|react|node\.?js)\b/i, 1],
    [/\b(?:function|method|class|compile[sr]?|stack ?trace|exception|segfault|null pointer|bug|debug|refactor|unit tests?|api endpoint|algorithm|script|repository|pull request)\b/i, 1],
    [/\b(?:def|const|let|import|return|public static|#include|fn|SELECT \w+ FROM)\b[^\n]*[;:{(]/, 1.5],
    [/^[ \t]*(?:Traceback|Error:|TypeError|at \S+ \()/m, 1.5],
  ],
  summarization: [
    [/\b(?:summari[sz]e|summary|summarization|tl;?dr|key (?:points|takeaways)|condense|recap|gist|in a nutshell|boil (?:it|this) down)\b/i, 2.5],
  ],
  extraction: [
    [/\b(?:extract|pull out|parse|scrape|identify all|list (?:all|every)|find (?:all|every))\b/i, 1.5],
    [/\b(?:classify|categori[sz]e|sentiment|label each|tag each|named entities|key-value|as json|into json|to json|as csv)\b/i, 1.2],
  ],
  translation: [
    [/\b(?:translate|translation|traduc|übersetz)\w*/i, 2.5],
    [/\b(?:in|into|to) (?:english|french|spanish|german|italian|portuguese|chinese|mandarin|japanese|korean|russian|arabic|hindi|dutch|polish|turkish|swedish)\b/i, 0.8],
    [/\bhow do (?:you|i) say\b/i, 1.5],
  ],
  creative: [
    [/\b(?:write|compose|tell|make up|create|draft|generate|give me)\b[^.?!\n]{0,40}\b(?:poem|poetry|haiku|limerick|sonnet|story|stories|fiction|novel|screenplay|lyrics|song|fairy tale|fable|slogans?|taglines?|jokes?|names)\b/i, 2.5],
    [/\bwrite (?:me )?(?:a|an|the) (?:\w+ )?(?:email|letter|cover letter|blog post|article|essay|speech|tweet|bio|description|toast|eulogy|script)\b/i, 1.5],
    [/\b(?:imagine|brainstorm|role-?play|pretend you are|in the style of|come up with|rewrite|rephrase|paraphrase|proofread|make it sound)\b/i, 1.2],
  ],
  reasoning: [
    [/\b(?:prove|proof that|derive|step[- ]by[- ]step|solve|calculate|compute|riddle|puzzle|deduce)\b/i, 1.2],
    [/\b(?:compare|trade-?offs?|pros and cons|why does|reasoning|probability|how many|logic(?:al)?|infer)\b/i, 0.6],
    [/[=^√∑∫≤≥]|\d ?[+\-*/×÷] ?\d|\\frac|\$[^$\n]{1,200}\$/, 0.8],
  ],
  agentic: [[/\b(?:use the (?:\w+ )?tools?|you have access to|call the (?:\w+ )?(?:function|api|tool)|run the (?:command|tests)|autonomously|as an agent)\b/i, 1.2]],
};

// The cues flattened in TASK_TYPES order (scores add up in the same order), checked together by one pass.
const CUE_RES: RegExp[] = [];
const CUE_WEIGHTS: number[] = [];
const CUE_TYPES: number[] = [];
TASK_TYPES.forEach((t, k) => {
  for (const [re, w] of CUES[t]) (CUE_RES.push(re), CUE_WEIGHTS.push(w), CUE_TYPES.push(k));
});
/** @internal Exported for the equivalence tests. */
export const TASK_CUE_FILTER = new CueFilter(CUE_RES);
const CUE_FILTER = TASK_CUE_FILTER;

/**
 * Classifies a request's task type. `embedding` is the request's own vector
 * (never computed here); it is used only with a `prototypes` index of the
 * same dimension.
 *
 * @example
 * taskType(req); // { type: 'translation', confidence: 0.83, by: 'keywords' }
 * taskType(req, cachedEmbedding, index); // { type: 'code', confidence: 0.9, by: 'both' }
 */
export function taskType(req: CanonicalRequest, embedding?: Float32Array, prototypes?: PrototypeIndex): TaskResult {
  const kw = keywordTask(req);
  if (!embedding || !prototypes || embedding.length !== prototypes.dim || prototypes.vectors.length === 0) return kw;
  const emb = embeddingTask(embedding, prototypes);
  if (emb.type === kw.type) {
    return { type: kw.type, confidence: 1 - (1 - kw.confidence) * (1 - emb.confidence), by: 'both' };
  }
  // Keywords first: they win unless they are weak and the embedding is surer.
  if (kw.confidence >= 0.5 || kw.confidence >= emb.confidence) return kw;
  return emb;
}

/** The keyword/shape half of `taskType`. */
export function keywordTask(req: CanonicalRequest): TaskResult {
  const scores = new Float64Array(TASK_TYPES.length);
  const text = lastUserText(req);
  const head = text.length > 8_000 ? text.slice(0, 8_000) : text;
  // A cue the pass rules out cannot match: it is not run.
  const may = CUE_FILTER.scan(head);
  for (let k = 0; k < CUE_RES.length; k++) if ((may & (1 << k)) !== 0 && CUE_RES[k]!.test(head)) scores[CUE_TYPES[k]!]! += CUE_WEIGHTS[k]!;
  // Shape cues: tools make a request agentic, a tool loop even more so.
  if (req.tools && req.tools.length > 0) {
    scores[8]! += 1.5;
    if (req.toolChoice === 'required' || typeof req.toolChoice === 'object') scores[8]! += 1;
    for (const m of req.messages) {
      if (m.role === 'tool' || (m.toolCalls && m.toolCalls.length > 0)) {
        scores[8]! += 2;
        break;
      }
    }
  }
  if (req.responseFormat && req.responseFormat.type !== 'text') scores[4]! += 0.5;
  // A greeting inside a real request is politeness, not chat.
  if (text.length > 80) scores[0] = 0;

  let best = 0;
  let sum = 0;
  for (let t = 0; t < scores.length; t++) {
    sum += scores[t]!;
    if (scores[t]! > scores[best]!) best = t;
  }
  if (sum === 0) {
    // No cue: a few words are chit-chat, anything longer an open question.
    return text.length < 25 ? { type: 'chat', confidence: 0.4, by: 'keywords' } : { type: 'qa', confidence: 0.3, by: 'keywords' };
  }
  return { type: TASK_TYPES[best]!, confidence: scores[best]! / (sum + 0.5), by: 'keywords' };
}

/** The embedding half of `taskType`: nearest prototypes, softmax over types. */
export function embeddingTask(embedding: Float32Array, index: PrototypeIndex): TaskResult {
  const best = new Float64Array(TASK_TYPES.length).fill(-Infinity);
  const dim = index.dim;
  for (let p = 0; p < index.vectors.length; p++) {
    const v = index.vectors[p]!;
    let dot = 0;
    for (let i = 0; i < dim; i++) dot += v[i]! * embedding[i]!;
    const t = TASK_TYPES.indexOf(index.labels[p]!);
    if (dot > best[t]!) best[t] = dot;
  }
  let top = 0;
  for (let t = 1; t < best.length; t++) if (best[t]! > best[top]!) top = t;
  // Softmax with a temperature suited to cosine similarities (differences of ~0.05 matter).
  let z = 0;
  for (let t = 0; t < best.length; t++) if (best[t]! > -Infinity) z += Math.exp((best[t]! - best[top]!) / 0.05);
  return { type: TASK_TYPES[top]!, confidence: 1 / z, by: 'embedding' };
}

/**
 * Embeds the prototype sentences once (at start, or when the embedder
 * changes). Vectors are L2-normalised by the embedder, so similarity is a dot
 * product.
 *
 * @example
 * const index = await buildPrototypeIndex(embedder);
 */
export async function buildPrototypeIndex(
  embedder: Embedder,
  prototypes: Readonly<Partial<Record<TaskType, readonly string[]>>> = TASK_PROTOTYPES,
): Promise<PrototypeIndex> {
  await embedder.ready();
  const labels: TaskType[] = [];
  const texts: string[] = [];
  for (const t of TASK_TYPES) {
    for (const s of prototypes[t] ?? []) {
      labels.push(t);
      texts.push(s);
    }
  }
  const vectors = texts.length > 0 ? await embedder.embed(texts) : [];
  if (vectors.length !== texts.length) throw new Error(`embedder ${embedder.id} returned ${vectors.length} vectors for ${texts.length} prototypes`);
  return { embedderId: embedder.id, dim: vectors[0]?.length ?? embedder.dim, labels, vectors };
}
