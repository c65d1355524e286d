/**
 * The deployment examples that no test can run here (no Docker engine, no
 * cluster): examples/kubernetes, examples/docker-compose and the image they
 * share. Their YAML must parse, reference only files that exist in the repo,
 * agree with itself (ports, probes, labels, mounted paths, service names), and
 * carry a Switchyard config that Switchyard's own schema accepts.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { parseConfig } from '../../src/config/load.js';

const ROOT = process.cwd();
const K8S = join(ROOT, 'examples/kubernetes');
const COMPOSE = join(ROOT, 'examples/docker-compose');
const DOCKERFILE = 'examples/docker/Dockerfile';

type Obj = Record<string, any>;

function docs(file: string): Obj[] {
  const all = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of all) expect(d.errors, `${file}: ${d.errors.map((e) => e.message).join('; ')}`).toEqual([]);
  return all.map((d) => d.toJS() as Obj).filter((d) => d !== null);
}

/** Options after a flag in an args array. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
}

describe('examples/docker/Dockerfile', () => {
  it('copies only files that exist in the build context (the repo root)', () => {
    const lines = readFileSync(join(ROOT, DOCKERFILE), 'utf8').split('\n');
    const copies = lines.filter((l) => /^COPY\s/.test(l) && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(3);
    for (const l of copies) {
      const parts = l.trim().split(/\s+/).slice(1, -1);
      for (const src of parts) expect(existsSync(join(ROOT, src)), `${DOCKERFILE}: ${l}`).toBe(true);
    }
    expect(lines.some((l) => l.startsWith('ENTRYPOINT') && l.includes('dist/cli/main.js'))).toBe(true);
  });
});

describe('examples/kubernetes', () => {
  const kustomization = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as Obj;
  const resources = kustomization['resources'] as string[];
  const objects = resources.flatMap((r) => {
    expect(existsSync(join(K8S, r)), `kustomization resource ${r}`).toBe(true);
    return docs(join(K8S, r));
  });
  const byKind = (kind: string) => objects.filter((o) => o['kind'] === kind);
  const deployment = byKind('Deployment')[0]!;
  const pod = deployment['spec']['template'];
  const containers = pod['spec']['containers'] as Obj[];
  const container = (name: string) => containers.find((c) => c['name'] === name)!;

  it('has a ConfigMap, a Deployment with app, Switchyard and llama sidecar containers, and a Service', () => {
    expect(byKind('ConfigMap')).toHaveLength(1);
    expect(byKind('Service')).toHaveLength(1);
    expect(containers.map((c) => c['name'])).toEqual(['app', 'switchyard', 'llama-sidecar']);
    expect(deployment['spec']['selector']['matchLabels']).toEqual(pod['metadata']['labels']);
  });

  it('probes every container on /healthz at a port the container declares', () => {
    for (const c of containers) {
      const ports = (c['ports'] as Obj[]).flatMap((p) => [p['name'], p['containerPort']]);
      for (const probe of ['livenessProbe', 'readinessProbe']) {
        const get = c[probe]?.['httpGet'];
        expect(get, `${c['name']}.${probe}`).toBeDefined();
        expect(get['path']).toBe('/healthz');
        expect(ports).toContain(get['port']);
      }
    }
    expect(container('llama-sidecar')['startupProbe']['httpGet']['path']).toBe('/healthz');
  });

  it('mounts the ConfigMap where switchyard serve reads its config, and the config is valid', () => {
    const cm = byKind('ConfigMap')[0]!;
    const sy = container('switchyard');
    const args = sy['args'] as string[];
    expect(args[0]).toBe('serve');
    const configPath = flag(args, '--config')!;
    const volume = (pod['spec']['volumes'] as Obj[]).find((v) => v['configMap']?.['name'] === cm['metadata']['name'])!;
    expect(volume).toBeDefined();
    const mount = (sy['volumeMounts'] as Obj[]).find((m) => m['name'] === volume['name'])!;
    expect(configPath).toBe(`${mount['mountPath']}/switchyard.yaml`);
    const cfg = parseConfig(cm['data']['switchyard.yaml'], {}, 'configmap.yaml');
    expect(String(cfg.server.port)).toBe(flag(args, '--port'));
    // The local upstream is the sidecar container of the same pod.
    const sidecarArgs = container('llama-sidecar')['args'] as string[];
    expect(sidecarArgs[0]).toBe('sidecar');
    const local = cfg.upstreams.find((u) => u.local)!;
    expect(local.baseUrl).toBe(`http://127.0.0.1:${flag(sidecarArgs, '--port')}/v1`);
    expect(local.models.map((m) => m.name)).toContain(flag(sidecarArgs, '--alias'));
    // The app reaches Switchyard on its port.
    const appEnv = (container('app')['env'] as Obj[]).find((e) => e['name'] === 'OPENAI_BASE_URL')!;
    expect(appEnv['value']).toBe(`http://127.0.0.1:${flag(args, '--port')}/v1`);
  });

  it('exposes the app through the Service by a named container port and matching labels', () => {
    const svc = byKind('Service')[0]!;
    for (const [k, v] of Object.entries(svc['spec']['selector'] as Obj)) expect(pod['metadata']['labels'][k]).toBe(v);
    const names = (container('app')['ports'] as Obj[]).map((p) => p['name']);
    for (const p of svc['spec']['ports'] as Obj[]) expect(names).toContain(p['targetPort']);
  });
});

describe('examples/docker-compose', () => {
  const compose = docs(join(COMPOSE, 'compose.yaml'))[0]!;
  const services = compose['services'] as Record<string, Obj>;

  it('runs Redis Stack, the sidecar and Switchyard', () => {
    expect(Object.keys(services).sort()).toEqual(['redis', 'sidecar', 'switchyard']);
    expect(services['redis']!['image']).toMatch(/^redis\/redis-stack/);
  });

  it('references only files and directories that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s['build']) {
        const ctx = resolve(COMPOSE, s['build']['context']);
        expect(statSync(ctx).isDirectory(), `${name}: build context`).toBe(true);
        expect(existsSync(join(ctx, s['build']['dockerfile'])), `${name}: dockerfile`).toBe(true);
        expect(join(ctx, s['build']['dockerfile'])).toBe(join(ROOT, DOCKERFILE));
      }
      for (const v of (s['volumes'] ?? []) as string[]) {
        const src = v.split(':')[0]!;
        if (src.startsWith('.') || src.startsWith('/')) expect(existsSync(resolve(COMPOSE, src)), `${name}: volume ${v}`).toBe(true);
      }
    }
  });

  it('waits only on services that have health checks', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries((s['depends_on'] ?? {}) as Record<string, Obj>)) {
        expect(services[dep], `${name} depends on ${dep}`).toBeDefined();
        if (cond['condition'] === 'service_healthy') expect(services[dep]!['healthcheck'], `${dep} healthcheck`).toBeDefined();
      }
    }
  });

  it('mounts a valid Switchyard config that points at the sidecar and Redis services', () => {
    const sy = services['switchyard']!;
    const mount = (sy['volumes'] as string[]).find((v) => v.includes('switchyard.yaml'))!;
    const [src, dest] = mount.split(':') as [string, string];
    expect(flag(sy['command'] as string[], '--config')).toBe(dest);
    const cfg = parseConfig(readFileSync(resolve(COMPOSE, src), 'utf8'), {}, 'docker-compose/switchyard.yaml');
    const sidecarCmd = services['sidecar']!['command'] as string[];
    const local = cfg.upstreams.find((u) => u.local)!;
    expect(local.baseUrl).toBe(`http://sidecar:${flag(sidecarCmd, '--port')}/v1`);
    expect(local.models.map((m) => m.name)).toContain(flag(sidecarCmd, '--alias'));
    expect(cfg.cache.store).toBe('redis');
    expect(new URL(cfg.cache.redis.url).hostname).toBe('redis');
    expect(cfg.cache.semantic.vectorStore).toBe('redis');
    expect(String(cfg.server.port)).toBe(flag(sy['command'] as string[], '--port'));
    expect(dirname(flag(sidecarCmd, '--model')!)).toBe((services['sidecar']!['volumes'] as string[])[0]!.split(':')[1]);
  });
});

describe('examples/express-app', () => {
  it('ships a Switchyard config the schema accepts', () => {
    const cfg = parseConfig(readFileSync(join(ROOT, 'examples/express-app/switchyard.yaml'), 'utf8'), {}, 'express-app/switchyard.yaml');
    expect(cfg.upstreams.map((u) => u.name)).toEqual(['openai', 'local']);
  });
});
