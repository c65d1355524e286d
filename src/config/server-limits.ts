/**
 * HTTP server limits of `switchyard serve` (and of the sidecar): how long a
 * client may take to send its headers and its whole request, how long an idle
 * keep-alive socket stays open, and how many sockets and requests per socket
 * the server accepts. Merged into the `server:` section (`schema.ts`).
 *
 * @example
 * ```yaml
 * server:
 *   headersTimeoutMs: 10000
 *   requestTimeoutMs: 30000
 *   keepAliveTimeoutMs: 65000
 *   maxConnections: 4096
 *   maxRequestsPerSocket: 1000
 * ```
 */
import { z } from 'zod';

/** The fields, spread into `serverSchema` with `.extend()`. */
export const serverLimitsShape = {
  /** Longest time from a socket's first byte to the end of the request headers (slow-loris headers); at most `requestTimeoutMs`. */
  headersTimeoutMs: z.number().int().positive().default(10_000),
  /** Longest time to receive a whole request, body included (a body trickled a byte at a time); 0 turns it off. The answer, streamed or not, is not limited by it. */
  requestTimeoutMs: z.number().int().min(0).default(30_000),
  /** How long an idle keep-alive socket is kept; longer than the idle timeout of a load balancer in front (often 60 s). */
  keepAliveTimeoutMs: z.number().int().positive().default(65_000),
  /** Most open client sockets; past it new connections are closed at once. */
  maxConnections: z.number().int().positive().default(4096),
  /** Requests served on one keep-alive socket before it is closed (spreads clients across replicas); 0: no limit. */
  maxRequestsPerSocket: z.number().int().min(0).default(1000),
};

const serverLimitsSchema = z.object(serverLimitsShape).strict();

/** The limits after validation (defaults filled). */
export type ServerLimits = z.output<typeof serverLimitsSchema>;
/** The limits as written. */
export type ServerLimitsInput = z.input<typeof serverLimitsSchema>;

/** Production defaults: headers 10 s, whole request 30 s, keep-alive 65 s, 4096 sockets, 1000 requests per socket. */
export const DEFAULT_SERVER_LIMITS: ServerLimits = serverLimitsSchema.parse({});

/** Fills defaults and validates (for servers configured outside a Switchyard config file). */
export function parseServerLimits(input: ServerLimitsInput = {}): ServerLimits {
  return serverLimitsSchema.parse(input);
}
