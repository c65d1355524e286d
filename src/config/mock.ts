/**
 * The `mock` upstream kind (LiteLLM-style): a deterministic fake provider that
 * Switchyard runs in-process, for demos, first steps without keys and users'
 * own tests. `switchyard mock` serves the same thing on a port, for faces
 * where the proxy calls the upstream itself (Envoy, nginx).
 *
 * @example
 * ```yaml
 * upstreams:
 *   - name: fake
 *     kind: mock
 *     mock: { response: text, text: "All systems nominal.", latencyMs: 50, tokensPerSecond: 40 }
 *     models: [{ name: fake-model }]
 * ```
 */
import { z } from 'zod';

/** What a mock answers when a request or the config asks for a fault. */
export const MOCK_FAULTS = ['timeout', 'disconnect', 'truncate'] as const;

/** A fault: an HTTP status (400–599, the error in the protocol's JSON) or `timeout` (never answers), `disconnect` (drops the connection before answering), `truncate` (cuts the answer midway). */
export const mockFaultSchema = z.union([z.number().int().min(400).max(599), z.enum(MOCK_FAULTS)]);

export const mockSchema = z
  .object({
    /** The API the mock speaks to Switchyard: `openai` (chat, completions, embeddings) or `anthropic` (messages). */
    protocol: z.enum(['openai', 'anthropic']).default('openai'),
    /** `echo`: answers `echo: <last user message>`; `text`: answers `text`. A request's `mock_response` field wins (LiteLLM's convention). */
    response: z.enum(['echo', 'text']).default('echo'),
    /** The canned answer for `response: text`. */
    text: z.string().default('This is a mock answer from Switchyard: no model was called.'),
    /** Wait before the response headers. */
    latencyMs: z.number().int().min(0).max(600_000).default(0),
    /** Pace of a streamed answer in tokens (words) per second; 0 = all at once. A non-streamed answer waits as long. */
    tokensPerSecond: z.number().min(0).default(0),
    /** A fault on every request. A request can ask for one itself with `[mock:fault=503]` (or timeout, disconnect, truncate) in its text, or `[mock:fault=503@name]` for the mock upstream called `name` only. */
    fault: mockFaultSchema.optional(),
    /** Dimensions of the deterministic `/v1/embeddings` vectors (hashed bag of words, L2-normalised). */
    embeddingDimensions: z.number().int().min(1).max(4096).default(64),
  })
  .strict();

/** The mock's settings after validation (defaults filled). */
export type MockConfig = z.output<typeof mockSchema>;
export type MockFault = z.output<typeof mockFaultSchema>;
