/**
 * Surface features of a request that hint at how hard it is to answer well.
 * Facts only: counts and shares, squashed with `log1p` or caps so a single
 * huge value cannot dominate the linear model in `complexity.ts`.
 */
import type { CanonicalRequest } from '../../protocol/canonical.js';
import { CueFilter } from './prefilter.js';
import { countMatches, lastUserText } from './text.js';

/** Names of the complexity features, in the order the model weights use. */
export const COMPLEXITY_FEATURES = [
  'length',
  'longWords',
  'lines',
  'questions',
  'codeBlocks',
  'codeTokens',
  'mathSymbols',
  'latex',
  'numbers',
  'computation',
  'reasoning',
  'steps',
  'statements',
  'constraints',
  'negation',
  'build',
  'choices',
  'choiceLength',
  'numericChoices',
  'judgementChoices',
  'chitchat',
  'tools',
  'toolTurns',
  'depth',
  'system',
  'outputLength',
  'maxTokens',
  'structuredOutput',
] as const;

/** One complexity feature name. */
export type ComplexityFeature = (typeof COMPLEXITY_FEATURES)[number];

/** Feature values by name; every name in {@link COMPLEXITY_FEATURES} is present. */
export type ComplexityFeatures = Record<ComplexityFeature, number>;

// All patterns are global so countMatches can walk them without allocating arrays.
const CODE_FENCE = /```/g;
const CODE_TOKEN =
  /\b(?:def|class|return|import|function|const|let|var|async|await|fn|impl|struct|enum|pub|println|printf|#include|public|private|static|void|int|float|double|SELECT|FROM|WHERE|JOIN|lambda|yield|elif|try|catch|except|throw|null|None|nullptr|malloc|goroutine|interface|typedef|template|namespace)\b|=>|->|::|[{};]\s*$|\(\)|!==|===|&&|\|\|/gm;
const MATH_SYMBOL = /[=^<>≤≥≠≈±×÷√∑∏∫∂∞πθλμσΔ∈∉⊂⊆∪∩∀∃→↔¬∧∨]|\*\*|\b[a-z] ?[+\-*/] ?[a-z0-9]\b|\b\d+ ?[+\-*/] ?\d+\b/g;
const LATEX = /\$[^$\n]{1,200}\$|\\(?:frac|sqrt|sum|int|prod|lim|log|sin|cos|alpha|beta|theta|pi|infty|cdot|times|leq|geq|neq|mathbb|begin)\b/g;
const NUMBER = /(?<![\w.])[-+]?\d+(?:[.,]\d+)*%?/g;
const NEWLINE = /\n(?=[^\S\n]*\S)/g;
const QUESTION = /\?/g;
const COMPUTATION =
  /\b(?:calculate|compute|how (?:many|much|long|far|fast)|what is the (?:value|probability|expected|sum|product|area|volume|rate|maximum|minimum|number)|solve|evaluate|estimate|find the|determine the|simplify|integrate|differentiate|derivative|integral|probability|percent(?:age)?|ratio)\b/gi;
const REASONING =
  /\b(?:step[- ]by[- ]step|prov(?:e|ing)|proof|deriv(?:e|ing|ation)|explain (?:why|how)|why (?:does|is|do|would|are|did)|justify|compar(?:e|ing|ison)|contrast|analy[sz](?:e|ing)|analysis|trade-?offs?|pros and cons|implications?|reason(?:ing)? about|critique|evaluate whether|what would happen|infer|deduce|argue|assess)\b/gi;
const STEP = /^[ \t]*(?:\d{1,2}[.)]|[-*•]|step \d+|first(?:ly)?,|then,|finally,)[ \t]+/gim;
const STATEMENT = /\b(?:statement|scenario|premise|claim|case)\s*\d\b|^[ \t]*(?:I|II|III|IV|V)[.)][ \t]/gim;
const CONSTRAINT =
  /\b(?:must|should(?: not)?|need to|required?|requirements?|ensure|without|at (?:least|most)|exactly|no more than|no less than|only|unless|if and only if|do not|don't|never|always|within|limit(?:ed)? to)\b/gi;
const NEGATION = /\b(?:NOT|EXCEPT|LEAST|FALSE|INCORRECT)\b|\b(?:which|what) (?:of the following )?(?:is|are|was|would) not\b/g;
const BUILD =
  /\b(?:write|implement|build|design|create|develop|refactor|debug|optimi[sz]e|architect|generate|port|migrate|fix)\b[^.?!\n]{0,60}\b(?:code|function|program|script|app|application|service|system|api|class|module|library|algorithm|query|schema|pipeline|server|client|parser|compiler|limiter|cache|database|bug)s?\b|\bwith (?:unit |integration |property[- ]based )?(?:tests|benchmarks|documentation|error handling)\b/gi;
const CHOICE = /^[ \t]*\(?([A-Ha-h])[.)][ \t]+(.*)$/gm;
const TAIL = /\s*(?:answer\s*:?\s*)?$/iy;
const NUMERIC_CHOICE = /^[-+$€£]?\s*\d[\d.,/ ]*\s*(?:%|[A-Za-zµΩ°/^²³]{0,8})?\.?$/;
const JUDGEMENT_CHOICE = /^(?:true|false|yes|no|wrong|not wrong|correct|incorrect|valid|invalid)\b/i;
const CHITCHAT = /^\s*(?:hi|hello|hey|thanks|thank you|ok(?:ay)?|good (?:morning|evening|night)|how are you|bye|cool|great|nice)\b[\s!.?,]*(?:there|again|so much|a lot)?[\s!.?]*$/i;
const OUTPUT_LENGTH =
  /\b(?:in detail|detailed|essay|comprehensive|thorough(?:ly)?|in depth|in-depth|long-form|report|whitepaper|tutorial|full (?:implementation|code)|complete (?:implementation|code)|\d{3,5}[- ]words?|\d+ (?:pages|paragraphs|sections))\b/gi;

const ln1p = Math.log1p;

/**
 * Words of `text` (maximal runs of `[A-Za-z\u00C0-\u024F]`, at most 100,000)
 * and long words (such runs of 10 or more, at most 1,000), packed as
 * `words * 1024 + long`: what counting `/[A-Za-z\u00C0-\u024F]+/g` and
 * `/[A-Za-z\u00C0-\u024F]{10,}/g` gives, in one pass.
 *
 * @internal Exported for the equivalence tests.
 */
export function wordCounts(text: string): number {
  let words = 0;
  let long = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 0xc0 && c <= 0x24f)) run++;
    else if (run > 0) {
      words++;
      if (run >= 10) long++;
      run = 0;
    }
  }
  if (run > 0) {
    words++;
    if (run >= 10) long++;
  }
  return Math.min(words, 100_000) * 1024 + Math.min(long, 1_000);
}

/** The counted cues, checked together by one pass ({@link CueFilter}): a cue that cannot match is not run. */
const CUES = [CODE_FENCE, CODE_TOKEN, MATH_SYMBOL, LATEX, NUMBER, COMPUTATION, REASONING, STEP, STATEMENT, CONSTRAINT, NEGATION, BUILD, OUTPUT_LENGTH, NEWLINE, QUESTION];
/** @internal Exported for the equivalence tests. */
export const COMPLEXITY_CUE_FILTER = new CueFilter(CUES);
const FILTER = COMPLEXITY_CUE_FILTER;
const [C_FENCE, C_CODE, C_MATH, C_LATEX, C_NUMBER, C_COMPUTATION, C_REASONING, C_STEP, C_STATEMENT, C_CONSTRAINT, C_NEGATION, C_BUILD, C_OUTPUT, C_NEWLINE, C_QUESTION] = CUES.map((_, k) => 1 << k) as [
  number, number, number, number, number, number, number, number, number, number, number, number, number, number, number,
];

/** Matches of cue `bit` in `text`, 0 without running it when the pass ruled it out. */
function cue(may: number, bit: number, re: RegExp, text: string): number {
  return (may & bit) === 0 ? 0 : countMatches(re, text);
}

/** Texts longer than this are scanned at their head and tail only (the ask is usually there). */
const SCAN_LIMIT = 24_000;

/**
 * Computes the complexity features of a request from its last user turn
 * (cue counts over the whole turn; length, lines and questions over the
 * question stem when the turn ends in a lettered choice list) and its shape
 * (tools, depth, output limits).
 *
 * @example
 * const f = complexityFeatures(req);
 * f.length; // log1p of the ask's characters
 */
export function complexityFeatures(req: CanonicalRequest): ComplexityFeatures {
  const raw = lastUserText(req);
  const full = raw.length > SCAN_LIMIT ? `${raw.slice(0, SCAN_LIMIT / 2)}\n${raw.slice(-SCAN_LIMIT / 2)}` : raw;

  // A lettered choice list ("A.", "B."... or "(a)", "(b)"... lines ending the
  // text) is described by the choice features.
  let choices = 0;
  let choiceChars = 0;
  let numericChoices = 0;
  let judgementChoices = 0;
  let stemEnd = full.length;
  CHOICE.lastIndex = 0;
  let m: RegExpExecArray | null;
  let blockEnd = 0;
  while ((m = CHOICE.exec(full)) !== null) {
    // Choices run A, B, C... in order; a letter out of order restarts the search.
    if ((m[1]!.charCodeAt(0) | 0x20) !== 0x61 + choices) {
      choices = choiceChars = numericChoices = judgementChoices = 0;
      if ((m[1]!.charCodeAt(0) | 0x20) !== 0x61) continue;
    }
    const body = m[2]!.trim();
    if (choices === 0) stemEnd = m.index;
    blockEnd = m.index + m[0].length;
    choices++;
    choiceChars += body.length;
    if (body.length < 100 && NUMERIC_CHOICE.test(body)) numericChoices++;
    if (JUDGEMENT_CHOICE.test(body)) judgementChoices++;
  }
  CHOICE.lastIndex = 0;
  // Only a list that ends the text (an optional "Answer:" aside) is a choice list.
  TAIL.lastIndex = blockEnd;
  if (choices < 2 || !TAIL.test(full)) {
    choices = choiceChars = numericChoices = judgementChoices = 0;
    stemEnd = full.length;
  }
  const text = stemEnd < full.length ? full.slice(0, stemEnd) : full;
  const chars = text.length + (raw.length - full.length);
  const counted = wordCounts(text);
  const words = Math.floor(counted / 1024);
  // One pass over `full` rules cues out for `full` and for `text`, its prefix up to a line start.
  const may = FILTER.scan(full);

  let toolTurns = 0;
  for (const msg of req.messages) {
    if (msg.role === 'tool') toolTurns++;
    else if (msg.toolCalls) toolTurns += msg.toolCalls.length;
  }
  const rf = req.responseFormat?.type;

  return {
    length: ln1p(chars),
    longWords: words > 0 ? (counted % 1024) / words : 0,
    lines: ln1p(cue(may, C_NEWLINE, NEWLINE, text)),
    questions: Math.min(cue(may, C_QUESTION, QUESTION, text), 5),
    codeBlocks: Math.min(cue(may, C_FENCE, CODE_FENCE, full) / 2, 3),
    codeTokens: ln1p(cue(may, C_CODE, CODE_TOKEN, full)),
    mathSymbols: ln1p(cue(may, C_MATH, MATH_SYMBOL, full)),
    latex: ln1p(cue(may, C_LATEX, LATEX, full)),
    numbers: ln1p(cue(may, C_NUMBER, NUMBER, full)),
    computation: Math.min(cue(may, C_COMPUTATION, COMPUTATION, full), 3),
    reasoning: Math.min(cue(may, C_REASONING, REASONING, full), 4),
    steps: ln1p(cue(may, C_STEP, STEP, full)),
    statements: Math.min(cue(may, C_STATEMENT, STATEMENT, full), 2),
    constraints: ln1p(cue(may, C_CONSTRAINT, CONSTRAINT, full)),
    // Only in multiple choice: elsewhere an upper-case NOT is emphasis, not a trick question.
    negation: choices > 0 ? Math.min(cue(may, C_NEGATION, NEGATION, text), 2) : 0,
    build: Math.min(cue(may, C_BUILD, BUILD, full), 3),
    choices: choices > 0 ? 1 : 0,
    choiceLength: choices > 0 ? ln1p(choiceChars / choices) : 0,
    numericChoices: choices > 0 ? numericChoices / choices : 0,
    judgementChoices: choices > 0 ? judgementChoices / choices : 0,
    chitchat: chars < 60 && CHITCHAT.test(text) ? 1 : 0,
    tools: ln1p(req.tools?.length ?? 0),
    toolTurns: ln1p(toolTurns),
    depth: ln1p(Math.max(req.messages.length - 1, 0)),
    system: ln1p((req.system?.length ?? 0) / 100),
    outputLength: Math.min(cue(may, C_OUTPUT, OUTPUT_LENGTH, full), 3),
    maxTokens: req.maxTokens !== undefined ? Math.min(Math.max(Math.log2(req.maxTokens / 1024), 0), 3) : 0,
    structuredOutput: rf === 'json_schema' ? 1 : rf === 'json_object' ? 0.5 : 0,
  };
}
