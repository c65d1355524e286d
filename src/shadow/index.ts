/**
 * Shadow degradation tests: a sample of answered requests is also sent to a
 * cheaper tier in the background, the two answers are scored (embedding
 * similarity, optional LLM judge), results are stored, and
 * `switchyard shadow report` turns them into per task and complexity band
 * recommendations and a `routing.taskThresholds` patch.
 */
export { ShadowTester, type ShadowHost, type ShadowObservation, type ShadowStats } from './tester.js';
export type { ShadowResult } from './result.js';
export { pickShadow, sampleFraction, shadowIssues, compilePlan, type ShadowPick, type SamplingPlan, type ShadowIssue } from './sampler.js';
export { agreement, answerSimilarity, scorePair, type PairScores } from './scorer.js';
export { Judge, DEFAULT_RUBRIC, parseJudgeScore, type JudgeVerdict } from './judge.js';
export { openShadowStore, RedisStreamStore, JsonlStore, type ShadowStore } from './store.js';
export { MemoryLedger, RedisLedger, type SpendLedger, type Reservation } from './ledger.js';
export { buildReport, formatReport, bandEdges, type ShadowReport, type ReportRow, type Recommendation } from './report.js';
export { suggestThresholds, applyThresholds, patchYaml, type ThresholdChange } from './patch.js';
export { wilson, normalQuantile } from './stats.js';
export { shadowReport, type ShadowReportOptions } from './cli.js';
