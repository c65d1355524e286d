/**
 * The core's hold on identity: the current {@link IdentityResolver}, swapped
 * on a reload only when the `auth` section changed (built first, so a
 * refused section changes nothing), and a log of refusals that never names
 * a credential.
 */
import type { SwitchyardConfig } from '../config/schema.js';
import type { SwitchyardError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import type { DecisionRecord } from '../observability/events.js';
import { RefusalRecords, type RefusalSource } from './refusals.js';
import { IdentityResolver } from './resolver.js';

/** A resolver built for a reload, not yet in use. */
export interface PendingIdentity {
  commit(): void;
  discard(): void;
}

/**
 * @example
 * const gate = new IdentityGate(config, process.env, logger);
 * const who = await gate.resolver.resolve({ headers, peer });
 */
export class IdentityGate {
  private current: IdentityResolver;
  private sig: string;
  private refused = 0;
  private loggedAt = 0;
  private readonly records: RefusalRecords | undefined;

  constructor(
    config: SwitchyardConfig,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log?: Logger,
    emit?: (r: DecisionRecord) => void,
  ) {
    this.records = emit ? new RefusalRecords(emit) : undefined;
    this.current = this.build(config);
    this.sig = JSON.stringify(config.auth);
  }

  get resolver(): IdentityResolver {
    return this.current;
  }

  private build(cfg: SwitchyardConfig): IdentityResolver {
    return new IdentityResolver(cfg.auth, this.env, { onError: (e) => this.log?.warn({ reason: e.message }, 'key store degraded') });
  }

  /** Builds the resolver a new config needs (throws ConfigError); undefined when `auth` did not change. */
  prepare(cfg: SwitchyardConfig): PendingIdentity | undefined {
    const sig = JSON.stringify(cfg.auth);
    if (sig === this.sig) return undefined;
    const next = this.build(cfg);
    return {
      commit: () => {
        const old = this.current;
        this.current = next;
        this.sig = sig;
        void old.close();
      },
      discard: () => void next.close(),
    };
  }

  /** Notes a refused identity: a bounded decision record, and a log line by code and peer (never the credential) at most once per 10 s. */
  noteRefusal(err: SwitchyardError, src: RefusalSource): void {
    this.records?.note(err, src);
    const peer = src.peer;
    this.refused++;
    const now = Date.now();
    if (now - this.loggedAt < 10_000) return;
    this.loggedAt = now;
    this.log?.warn({ code: err.code, status: err.status, peer, refusedSinceLastLog: this.refused }, 'request refused: identity not proven');
    this.refused = 0;
  }

  close(): Promise<void> {
    this.records?.close();
    return this.current.close();
  }
}
