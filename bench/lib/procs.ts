/** Child processes for benchmarks: each side runs in its own process, as in production. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Proc {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** Peak resident memory (VmHWM, MiB) of a process. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Spawns a process and resolves with the first URL it prints (plain or inside a JSON log line). */
export function spawnWithUrl(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+(?:\/v1)?)/.exec(buf);
      if (m) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve({
          url: m[1]!,
          child,
          stop: () =>
            new Promise<void>((r) => {
              if (child.exitCode !== null) return r();
              child.once('exit', () => r());
              child.kill('SIGTERM');
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code} before printing its URL`)));
  });
}

export function startUpstreamProc(chunkDelayMs = 0): Promise<Proc> {
  return spawnWithUrl(process.execPath, ['--import', 'tsx', 'bench/lib/fake-upstream.ts', '0', String(chunkDelayMs)]);
}

/**
 * `switchyard serve` with one OpenAI-compatible upstream and the cache off
 * (the cache is on by default, so it is turned off here unless `extraYaml`
 * has its own `cache:` section).
 */
export function startGatewayProc(upstreamUrl: string, extraYaml = ''): Promise<Proc> {
  const cacheYaml = /^cache:/m.test(extraYaml) ? '' : 'cache: { enabled: false }\n';
  const file = join(tmpdir(), `switchyard-bench-${process.pid}-${Date.now()}.yaml`);
  writeFileSync(
    file,
    `server: { port: 0 }
upstreams:
  - name: bench
    kind: openai-compatible
    baseUrl: ${upstreamUrl}
    models: [{ name: bench-model }]
    retry: { max: 0 }
${cacheYaml}${extraYaml}`,
  );
  return spawnWithUrl(process.execPath, ['dist/cli/main.js', 'serve', '--config', file]);
}
