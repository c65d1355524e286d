/**
 * Switchyard's public API: the core, its config and its error type.
 * No Express or gRPC imports here: those faces live at `switchyard/express`
 * and `switchyard/envoy`.
 *
 * @example
 * import { createSwitchyard, loadConfigFile } from 'switchyard';
 * const sy = createSwitchyard(loadConfigFile('switchyard.yaml'));
 */
export { Switchyard, createSwitchyard, type ExecResult, type SwitchyardOptions, type UpstreamHealth, type HealthStatus } from './core/pipeline.js';
export { Readiness, type ReadinessCheck, type ReadinessResult, type ReadinessReport } from './core/readiness.js';
export { handleHealthRequest } from './observability/health.js';
export type { Deployment } from './upstream/deployment.js';
export type { Outcome, ForwardOutcome, RespondOutcome, PassOutcome } from './core/outcome.js';
export type { RequestContext, CacheResult } from './core/context.js';
export type { IncomingRequest } from './core/parse.js';
export { SwitchyardError, ERROR_CODES, errorBody, type ErrorCode } from './errors.js';
export { parseConfig, loadConfigFile, defaultConfig, ConfigError } from './config/load.js';
export { watchConfig } from './config/watch.js';
export type { SwitchyardConfig, SwitchyardConfigInput, UpstreamConfig, ModelConfig, TierConfig, RetryConfig, ResumeConfig } from './config/schema.js';
export type { AuthConfig, VirtualKey } from './config/auth.js';
export { IdentityResolver, AdminCheck, newKey, hashKey, openKeyStore, type Identity, type IdentitySource, type IdentityInput, type KeyStore } from './identity/index.js';
export type * from './protocol/canonical.js';
export type { DecisionRecord } from './observability/events.js';
export { createResponseCache, type ResponseCache, type CacheLookup, type CacheStats } from './cache/index.js';
export type { Embedder } from './embedding/embedder.js';
export { createEmbedder } from './embedding/index.js';
export { buildReport, formatReport, type ShadowReport, type ShadowResult } from './shadow/index.js';
export { startMockServer, createMockHandler, type RunningMock, type MockListen } from './mock/server.js';
export type { MockConfig, MockFault } from './config/mock.js';
export { MissingOptionalPackageError } from './optional-module.js';
export { StoreTimeoutError, StoreUnavailableError, type StoreHealth } from './store/redis.js';
export { RediSearchMissingError, VectorDimensionMismatchError, VectorStoreError } from './cache/vector/redis.js';
