/**
 * `switchyard mock`: the mock provider on a port, for faces where the proxy
 * calls the upstream itself (Envoy, nginx) and for users' own tests: point
 * any OpenAI or Anthropic client, or a `kind: openai-compatible` upstream, at
 * it.
 */
import { mockSchema, type MockConfig, type MockFault } from '../config/mock.js';
import { startMockServer, type RunningMock } from '../mock/server.js';

export interface MockCliOptions {
  port: number;
  host: string;
  text?: string;
  latencyMs: number;
  tokensPerSecond: number;
  fault?: MockFault;
  name: string;
}

/** The mock's config from the command line. */
export function mockCliConfig(o: MockCliOptions): MockConfig {
  const fault = o.fault;
  return mockSchema.parse({
    ...(o.text !== undefined ? { response: 'text', text: o.text } : { response: 'echo' }),
    latencyMs: o.latencyMs,
    tokensPerSecond: o.tokensPerSecond,
    ...(fault !== undefined ? { fault } : {}),
  });
}

/**
 * Starts the mock on a port and stops it on SIGINT/SIGTERM.
 *
 * @example
 * await startMockCli({ port: 8090, host: '127.0.0.1', latencyMs: 0, tokensPerSecond: 0, name: 'mock' });
 */
export async function startMockCli(o: MockCliOptions): Promise<RunningMock> {
  const mock = await startMockServer(mockCliConfig(o), { port: o.port, host: o.host }, o.name);
  process.stdout.write(`switchyard mock "${o.name}" on ${mock.url} (OpenAI: ${mock.url}/v1, Anthropic: ${mock.url}/v1/messages)\n`);
  const stop = () => void mock.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return mock;
}
