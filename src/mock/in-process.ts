/**
 * A `kind: mock` upstream's server, run inside the Switchyard process on a
 * private Unix socket: requests to it still go through the upstream's pool,
 * timeouts, retries and breaker like any other upstream's, but never leave
 * the machine and need no port.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConnector } from 'undici';
import { mockSchema, type MockConfig } from '../config/mock.js';
import { startMockServer, type RunningMock } from './server.js';

/**
 * The mock server of one upstream, started at construction.
 *
 * @example
 * const mock = new InProcessMock(undefined, 5_000, 'fake');
 * const pool = new Pool(IN_PROCESS_MOCK_ORIGIN, { connect: mock.connect });
 */
export class InProcessMock {
  readonly config: MockConfig;
  readonly socketPath: string;
  private readonly running: Promise<RunningMock | undefined>;
  private startError: unknown;
  /** An undici connector that waits for the server, then connects to its socket. */
  readonly connect: buildConnector.connector;

  constructor(config: MockConfig | undefined, connectTimeoutMs: number, name?: string) {
    this.config = config ?? mockSchema.parse({});
    this.socketPath = join(tmpdir(), `switchyard-mock-${process.pid}-${randomBytes(6).toString('hex')}.sock`);
    this.running = startMockServer(this.config, { socketPath: this.socketPath }, name).catch((err: unknown) => {
      this.startError = err;
      return undefined;
    });
    const inner = buildConnector({ socketPath: this.socketPath, timeout: connectTimeoutMs });
    this.connect = (opts, cb) => {
      void this.running.then((m) => {
        if (!m) cb(new Error(`mock upstream server did not start: ${String(this.startError)}`), null);
        else inner(opts, cb);
      });
    };
  }

  async close(): Promise<void> {
    const m = await this.running;
    await m?.close();
    rmSync(this.socketPath, { force: true });
  }
}

/** The origin a mock upstream's pool is created with (the socket decides where it goes; `.invalid` never resolves). */
export const IN_PROCESS_MOCK_ORIGIN = 'http://mock.switchyard.invalid';
