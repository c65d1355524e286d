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
  cause?: unknown;
}

export class UpstreamFailure extends Error {
  readonly kind: FailureKind;
  readonly status: number | undefined;
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly countsAsFailure: boolean;
  readonly retryAfterMs: number | undefined;

  constructor(kind: FailureKind, message: string, init: FailureInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'UpstreamFailure';
    this.kind = kind;
    this.status = init.status;
    this.code = init.code;
    this.retryable = init.retryable;
    this.countsAsFailure = init.countsAsFailure;
    this.retryAfterMs = init.retryAfterMs;
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

const NETWORK_CODES: Record<string, { kind: FailureKind; message: string }> = {
  ECONNREFUSED: { kind: 'connect', message: 'connection refused' },
  ENOTFOUND: { kind: 'connect', message: 'host not found' },
  EAI_AGAIN: { kind: 'connect', message: 'DNS lookup failed' },
  EHOSTUNREACH: { kind: 'connect', message: 'host unreachable' },
  UND_ERR_CONNECT_TIMEOUT: { kind: 'timeout', message: 'connect timeout' },
  UND_ERR_HEADERS_TIMEOUT: { kind: 'timeout', message: 'no response headers in time' },
  UND_ERR_BODY_TIMEOUT: { kind: 'timeout', message: 'stream idle timeout' },
  ECONNRESET: { kind: 'reset', message: 'connection reset' },
  EPIPE: { kind: 'reset', message: 'connection reset' },
  UND_ERR_SOCKET: { kind: 'reset', message: 'connection closed by upstream' },
  UND_ERR_CLOSED: { kind: 'reset', message: 'connection closed' },
};

/** Maps a transport error (undici, node net) to a failure. */
export function transportFailure(err: unknown): UpstreamFailure {
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
