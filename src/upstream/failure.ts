/**
 * Why an upstream attempt failed, and what that means for retries, fallback
 * and the breaker. Produced by `attempt.ts`, consumed by `fallback.ts`.
 */
import { SwitchyardError, type ErrorCode } from '../errors.js';

export type FailureKind = 'connect' | 'reset' | 'timeout' | 'status' | 'stream' | 'aborted';

export interface FailureInit {
  status?: number;
  code: ErrorCode;
  /** Worth another try (same upstream or the next in the chain). */
  retryable: boolean;
  /** Counts against the upstream's breaker. */
  countsAsFailure: boolean;
  retryAfterMs?: number;
  /** A connection-level failure (refused, DNS, TLS, connect timeout, reset before headers): marks every deployment of the upstream. */
  connection?: boolean;
  cause?: unknown;
}

/** The failure classes `retry.on` counts retries by. */
export type RetryClass = 'connect' | 'reset' | '5xx' | '429' | 'timeout';

export class UpstreamFailure extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly retryAfterMs: number | undefined;
  readonly connection: boolean;

  constructor(kind: FailureKind, message: string, init: FailureInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UpstreamFailure';
    this.kind = kind;
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable;
    this.countsAsFailure = init.countsAsFailure;
    this.retryAfterMs = init.retryAfterMs;
    this.connection = init.connection ?? false;
  }

  /** Which `retry.on` class this failure falls in; undefined for failures never retried. */
  get retryClass(): RetryClass | undefined {
    switch (this.kind) {
      case 'connect':
        return 'connect';
      case 'reset':
      case 'stream':
        return 'reset';
      case 'timeout':
        return this.connection ? 'connect' : 'timeout';
      case 'status':
        if (this.status === 429) return '429';
        if (this.status === 408) return 'timeout';
        return this.status === undefined || this.status >= 500 || this.status < 300 ? '5xx' : undefined;
      default:
        return undefined;
    }
  }

  /** The error the client sees when no fallback is left. */
  toClientError(upstream: string): SwitchyardError {
    // Only an upstream 4xx is passed through: an unreadable 2xx must never reach the client as a success status.
    const passStatus = this.kind === 'status' && this.status !== undefined && this.status >= 400 && this.status < 500 ? this.status : undefined;
    const retryAfter = this.retryAfterMs === undefined ? undefined : Math.ceil(this.retryAfterMs / 1000);
    return new SwitchyardError(this.code, `upstream "${upstream}": ${this.message}`, {
      ...(passStatus !== undefined ? { status: passStatus } : {}),
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      cause: this,
    });
  }
}

const NETWORK_CODES: Record<string, { kind: FailureKind; message: string; connection?: true }> = {
  ECONNREFUSED: { kind: 'connect', message: 'connection refused', connection: true },
  ENOTFOUND: { kind: 'connect', message: 'host not found', connection: true },
  EAI_AGAIN: { kind: 'connect', message: 'DNS lookup failed', connection: true },
  EHOSTUNREACH: { kind: 'connect', message: 'host unreachable', connection: true },
  ENETUNREACH: { kind: 'connect', message: 'network unreachable', connection: true },
  UND_ERR_CONNECT_TIMEOUT: { kind: 'timeout', message: 'connect timeout', connection: true },
  ERR_TLS_CERT_ALTNAME_INVALID: { kind: 'connect', message: 'TLS certificate does not match the host', connection: true },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { kind: 'connect', message: 'TLS certificate not trusted', connection: true },
  DEPTH_ZERO_SELF_SIGNED_CERT: { kind: 'connect', message: 'TLS certificate is self-signed', connection: true },
  CERT_HAS_EXPIRED: { kind: 'connect', message: 'TLS certificate expired', connection: true },
  ERR_SSL_WRONG_VERSION_NUMBER: { kind: 'connect', message: 'TLS handshake failed', connection: true },
  UND_ERR_HEADERS_TIMEOUT: { kind: 'timeout', message: 'no response headers in time' },
  UND_ERR_BODY_TIMEOUT: { kind: 'timeout', message: 'stream idle timeout' },
  ECONNRESET: { kind: 'reset', message: 'connection reset' },
  EPIPE: { kind: 'reset', message: 'connection reset' },
  UND_ERR_SOCKET: { kind: 'reset', message: 'connection closed by upstream' },
  UND_ERR_CLOSED: { kind: 'reset', message: 'connection closed' },
};

/**
 * Maps a transport error (undici, node net) to a failure. `beforeHeaders`:
 * no response had started, so a reset is a connection-level failure too.
 */
export function transportFailure(err: unknown, beforeHeaders = false): UpstreamFailure {
  if (err instanceof UpstreamFailure) return err;
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e?.code ?? e?.cause?.code ?? '';
  const known = NETWORK_CODES[code];
  const kind = known?.kind ?? 'reset';
  const message = known?.message ?? `transport error: ${e?.message ?? String(err)}`;
  return new UpstreamFailure(kind, message, {
    code: kind === 'timeout' ? 'upstream_timeout' : 'upstream_unavailable',
    retryable: true,
    countsAsFailure: true,
    connection: known?.connection === true || (beforeHeaders && kind === 'reset'),
    cause: err,
  });
}

export function timeoutFailure(phase: string, ms: number): UpstreamFailure {
  return new UpstreamFailure('timeout', `${phase} timeout after ${ms}ms`, {
    code: 'upstream_timeout',
    retryable: true,
    countsAsFailure: true,
  });
}

export const CLIENT_ABORTED = new UpstreamFailure('aborted', 'client disconnected', {
  code: 'internal_error',
  retryable: false,
  countsAsFailure: false,
});
