/**
 * The benchmark's other targets, each in its own process: the Express face
 * (`bench/lib/express-app.mjs`) and the Portkey gateway (`@portkey-ai/gateway`
 * from npm, the peer), plus the request headers each target needs.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnWithUrl, type Proc } from './procs.js';

const here = dirname(fileURLToPath(import.meta.url));
const LOOPBACK_ONLY = join(here, 'loopback-only.mjs');

/** A port free on 127.0.0.1 right now (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The Express face: an Express app with `app.use(switchyard({ config }))`, cache off. */
export function startExpressProc(upstreamUrl: string): Promise<Proc> {
  return spawnWithUrl(process.execPath, [join(here, 'express-app.mjs'), upstreamUrl]);
}

export interface PeerProc extends Proc {
  /** Outbound connections to non-loopback hosts the peer attempted (and was refused); expected empty. */
  blocked: string[];
  version: string;
}

/** Headers that make Portkey call an OpenAI-compatible upstream at `baseUrl` (its `/chat/completions`). */
export function portkeyHeaders(baseUrl: string): Record<string, string> {
  return {
    'x-portkey-provider': 'openai',
    'x-portkey-custom-host': baseUrl,
    authorization: 'Bearer bench-key',
  };
}

/**
 * Portkey's Node server (`build/start-server.js`), as its `npx @portkey-ai/gateway`
 * starts it: `--port=N` (the only way it takes a port), `--headless` (no
 * console UI or log stream), NODE_ENV=production, and a scrubbed environment
 * (no REDIS_CONNECTION_STRING, proxies or cloud credentials). The
 * loopback-only preload binds it to 127.0.0.1 (it would listen on every
 * interface) and refuses any outbound connection off this machine.
 */
export async function startPortkeyProc(): Promise<PeerProc> {
  const require = createRequire(import.meta.url);
  let pkgFile: string;
  try {
    pkgFile = require.resolve('@portkey-ai/gateway/package.json');
  } catch {
    // Not a dependency (it would add ~21 MB to every install): the peer benchmark installs it on demand.
    throw new Error('the peer benchmark needs the Portkey gateway: run `npm install --no-save @portkey-ai/gateway@1.15.2`');
  }
  const version = (require(pkgFile) as { version: string }).version;
  const entry = join(dirname(pkgFile), 'build', 'start-server.js');
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', LOOPBACK_ONLY, entry, `--port=${port}`, '--headless'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const blocked: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    const s = d.toString();
    stderr = (stderr + s).slice(-4000);
    for (const line of s.split('\n')) if (line.startsWith('[loopback-only] blocked')) blocked.push(line);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`portkey exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`${url}/`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`portkey did not answer on ${url} within 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    blocked,
    version,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
