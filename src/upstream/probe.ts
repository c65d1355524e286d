/**
 * Probing a `local: true` upstream (the llama.cpp sidecar, a llama-server,
 * Ollama): `GET /health`, else `GET <baseUrl>/models`. A sidecar that is not
 * running is then unavailable, with a reason saying what to start, instead
 * of a connection refused on every request.
 */
import type { UpstreamRuntime } from './upstream.js';
import { IN_PROCESS_MOCK_ORIGIN } from '../mock/in-process.js';

/** The reason a local upstream is unavailable, naming what to start. */
export function localDownReason(u: UpstreamRuntime, why: string): string {
  return (
    `local upstream "${u.name}" is not running at ${u.config.baseUrl} (${why}): ` +
    'start it (e.g. `npx switchyard sidecar --model <file.gguf>`) or point its baseUrl at a running server'
  );
}

async function get(u: UpstreamRuntime, path: string, timeoutMs: number): Promise<number> {
  const res = await u.pool.request({ path, method: 'GET', headers: u.provider.probeHeaders?.() ?? {}, signal: AbortSignal.timeout(timeoutMs) });
  await res.body.dump().catch(() => undefined);
  return res.statusCode;
}

/**
 * Probes once; resolves to why the upstream is down, or undefined when it answered.
 *
 * @example
 * u.probeDown = await probeLocal(u);
 */
export async function probeLocal(u: UpstreamRuntime): Promise<string | undefined> {
  const timeoutMs = Math.min(u.config.timeouts.connectMs + 1000, 10_000);
  // A mock upstream has no baseUrl: its in-process server answers /health like a sidecar.
  const base = new URL(u.config.baseUrl ?? `${IN_PROCESS_MOCK_ORIGIN}/v1`).pathname.replace(/\/+$/, '');
  try {
    const health = await get(u, '/health', timeoutMs);
    if (health >= 200 && health < 300) return undefined;
    const models = await get(u, `${base}/models`, timeoutMs);
    if (models >= 200 && models < 300) return undefined;
    return localDownReason(u, `GET /health answered ${health}, GET ${base}/models answered ${models}`);
  } catch (e) {
    const err = e as { code?: string; cause?: { code?: string }; name?: string; message?: string };
    const code = err.code ?? err.cause?.code ?? err.name ?? 'error';
    return localDownReason(u, code === 'ECONNREFUSED' ? 'connection refused' : code === 'TimeoutError' ? 'no answer to the health probe' : String(code));
  }
}
