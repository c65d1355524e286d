/**
 * What differs between upstream kinds: how a request is written, how a
 * response and a stream are read. Transport, timeouts, retries and breakers
 * are shared and live in `../`.
 */
import { setTopLevel } from '../../protocol/json-splice.js';
import type {
  CanonicalEmbeddingResponse,
  CanonicalRequest,
  CanonicalResponse,
  Operation,
  Protocol,
  StreamEvent,
} from '../../protocol/canonical.js';
import type { AnthropicBlockPosition } from '../../protocol/anthropic-stream.js';

/** A ready-to-send upstream HTTP request. */
export interface UpstreamRequestSpec {
  /** Path below the upstream's origin, including its base path (e.g. `/v1/chat/completions`). */
  path: string;
  headers: Record<string, string>;
  body: string | Buffer;
  /** The body is the client's, byte for byte (no mutation needed under a proxy). */
  unchanged: boolean;
  /**
   * True when the body asks for usage in the stream although the client did
   * not: the usage-only chunk is then consumed, not forwarded.
   */
  injectedStreamUsage: boolean;
}

/** Incremental reader of one upstream stream. */
export interface StreamDecoder {
  push(event: string | undefined, data: string): StreamEvent[];
  /** Anthropic streams: block bookkeeping, for continuing a verbatim relay with an encoder. */
  position?(): AnthropicBlockPosition;
}

export interface BuildInput {
  req: CanonicalRequest;
  /** The client's parsed JSON body; used as-is when the protocols match. */
  raw: Record<string, unknown>;
  /** The client's body bytes, when the face had them; forwarded as-is when nothing changes. */
  rawBytes?: Buffer | undefined;
  upstreamModel: string;
  /**
   * A proxy (Envoy) relays the upstream's answer to the client unfiltered:
   * ask for nothing the client did not (no injected stream usage chunk).
   */
  proxied?: boolean;
}

/**
 * The client's bytes with top-level members set (see `setTopLevel`): key
 * order, whitespace and numbers (a 64-bit `seed`) stay as the client sent
 * them. Undefined when the bytes cannot be scanned (the caller re-serialises).
 *
 * @example
 * splicedBody(Buffer.from('{"model":"auto","seed":12345678901234567890}'), { model: '"m"' })
 */
export function splicedBody(rawBytes: Buffer, members: Record<string, string>): Buffer | undefined {
  try {
    return setTopLevel(rawBytes, members);
  } catch {
    return undefined;
  }
}

export interface Provider {
  readonly protocol: Protocol;
  /** Whether this upstream can serve the operation at all. */
  supports(op: Operation): boolean;
  build(input: BuildInput): UpstreamRequestSpec;
  parseResponse(op: Operation, json: unknown): CanonicalResponse | CanonicalEmbeddingResponse;
  decoder(): StreamDecoder;
  /** Headers for a health probe (the API key, where the upstream wants one). */
  probeHeaders?(): Record<string, string>;
}
