import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigError,
  defaultConfig,
  loadConfigFile,
  parseConfig,
  upstreamAvailability,
} from '../../src/config/load.js';
import { DEFAULT_CONFIG_YAML } from '../../src/config/defaults.js';

/** A small valid config; `extra` is appended to the first upstream's block. */
function yaml(opts: { baseUrl?: string; upstreamExtra?: string; tail?: string } = {}): string {
  return [
    'upstreams:',
    '  - name: local',
    '    kind: openai-compatible',
    `    baseUrl: ${opts.baseUrl ?? 'http://127.0.0.1:8081/v1'}`,
    ...(opts.upstreamExtra === undefined ? [] : [opts.upstreamExtra]),
    '    models:',
    '      - name: local-llama',
    '  - name: cloud',
    '    kind: anthropic',
    '    baseUrl: https://api.anthropic.com/v1',
    '    apiKeyEnv: ANTHROPIC_API_KEY',
    '    models:',
    '      - name: claude',
    'tiers:',
    '  - name: small',
    '    models: [local-llama, claude]',
    opts.tail ?? '',
  ].join('\n');
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig: environment substitution', () => {
  it('substitutes ${VAR} and ${VAR:-default} in string values', () => {
    const cfg = parseConfig(
      yaml({ baseUrl: '${LOCAL_URL}', upstreamExtra: '    headers: { x-org: "${ORG:-acme}", x-team: "t-${TEAM}" }' }),
      { LOCAL_URL: 'http://10.0.0.5:9000/v1', TEAM: 'blue' },
    );
    expect(cfg.upstreams[0]?.baseUrl).toBe('http://10.0.0.5:9000/v1');
    expect(cfg.upstreams[0]?.headers).toEqual({ 'x-org': 'acme', 'x-team': 't-blue' });
  });

  it('uses the default when the variable is set but empty', () => {
    const cfg = parseConfig(yaml({ baseUrl: '${LOCAL_URL:-http://127.0.0.1:1/v1}' }), { LOCAL_URL: '' });
    expect(cfg.upstreams[0]?.baseUrl).toBe('http://127.0.0.1:1/v1');
  });

  it('never re-evaluates a substituted value and leaves keys alone', () => {
    const cfg = parseConfig(
      yaml({ upstreamExtra: '    headers: { "${KEYNAME}": "${SECRET}", lit: "$${NOT_A_REF}" }' }),
      { SECRET: 'p@$${HOME}x', KEYNAME: 'nope', HOME: '/root' },
    );
    expect(cfg.upstreams[0]?.headers).toEqual({ '${KEYNAME}': 'p@$${HOME}x', lit: '${NOT_A_REF}' });
  });

  it('turns a whole-value reference into a number where the schema wants one', () => {
    const cfg = parseConfig(`server:\n  port: \${PORT:-9090}\n`, {});
    expect(cfg.server.port).toBe(9090);
    expect(parseConfig(`server:\n  port: \${PORT}\n`, { PORT: '7000' }).server.port).toBe(7000);
  });

  it('names the variable and the path when a variable without default is unset', () => {
    const err = configError(() => parseConfig(yaml({ baseUrl: '${LOCAL_URL}' }), {}));
    expect(err.issues).toEqual([
      expect.objectContaining({ path: 'upstreams[0].baseUrl', line: 4, message: expect.stringContaining('LOCAL_URL is not set') }),
    ]);
    expect(err.message).toContain('upstreams[0].baseUrl: environment variable LOCAL_URL is not set');
  });

  it('does not require API keys: apiKeyEnv is a name read at call time', () => {
    const cfg = parseConfig(yaml(), {});
    expect(cfg.upstreams[1]?.apiKeyEnv).toBe('ANTHROPIC_API_KEY');
  });

  it('rejects ${...} in apiKeyEnv, which would put the secret in the name', () => {
    const err = configError(() => parseConfig(yaml({ upstreamExtra: '    apiKeyEnv: ${OPENAI_API_KEY}' }), { OPENAI_API_KEY: 'sk-x' }));
    expect(err.issues[0]?.path).toBe('upstreams[0].apiKeyEnv');
    expect(err.message).not.toContain('sk-x');
  });
});

describe('parseConfig: errors name the path and the problem', () => {
  it('reports a YAML syntax error with its line', () => {
    const err = configError(() => parseConfig('server:\n  port: 8080\nupstreams: [\n  - a\n'));
    expect(err.issues[0]?.message).toMatch(/^YAML syntax error/);
    expect(err.issues[0]?.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toMatch(/\(line \d+\)/);
  });

  it('reports an unknown key in an upstream, with a suggestion', () => {
    const err = configError(() => parseConfig(yaml({ upstreamExtra: '    apiKey: sk-123' })));
    expect(err.issues).toEqual([
      { path: 'upstreams[0].apiKey', message: 'unknown key "apiKey" (did you mean "apiKeyEnv"?)', line: 5 },
    ]);
  });

  it('reports a bad URL, including one without an http(s) scheme', () => {
    const err = configError(() => parseConfig(yaml({ baseUrl: 'not a url' })));
    expect(err.message).toContain('upstreams[0].baseUrl: Invalid URL (expected http:// or https://) (line 4)');
    expect(configError(() => parseConfig(yaml({ baseUrl: 'localhost:8081/v1' }))).issues[0]?.path).toBe('upstreams[0].baseUrl');
  });

  it('reports an unknown default model', () => {
    const err = configError(() => parseConfig(yaml({ tail: 'defaultModel: gpt-5' })));
    expect(err.issues).toEqual([{ path: 'defaultModel', message: 'unknown model "gpt-5"', line: 16 }]);
  });

  it('reports an unknown model in a tier', () => {
    const err = configError(() => parseConfig(yaml().replace('[local-llama, claude]', '[local-llama, gpt-9]')));
    expect(err.issues).toEqual([{ path: 'tiers[0].models[1]', message: 'unknown model "gpt-9"', line: 15 }]);
  });

  it('reports a model declared twice', () => {
    const err = configError(() => parseConfig(yaml().replace('      - name: claude', '      - name: local-llama')));
    expect(err.message).toContain('upstreams[1].models[0].name: model "local-llama" is already declared by upstream "local"');
  });

  it('reports a missing required field and an unknown top-level key', () => {
    const err = configError(() => parseConfig('upstream:\n  - name: a\nupstreams:\n  - name: b\n    kind: openai-compatible\n'));
    const byPath = Object.fromEntries(err.issues.map((i) => [i.path, i.message]));
    expect(byPath['upstream']).toBe('unknown key "upstream" (did you mean "upstreams"?)');
    expect(byPath['upstreams[0].baseUrl']).toBe('required for kind openai-compatible (expected an http(s) URL)');
    expect(byPath['upstreams[0].models']).toBe('required (expected array)');
  });

  it('lists every issue, one per line', () => {
    const err = configError(() => parseConfig(yaml({ baseUrl: 'nope', upstreamExtra: '    colour: red' })));
    expect(err.message.split('\n').slice(1)).toHaveLength(2);
  });

  it('rejects a document that is not a mapping', () => {
    expect(configError(() => parseConfig('- a\n- b\n')).message).toContain('must be a YAML mapping');
  });
});

describe('parseConfig: result', () => {
  it('fills defaults and deep-freezes the result', () => {
    const cfg = parseConfig(yaml());
    expect(cfg.upstreams[0]?.timeouts.firstTokenMs).toBe(60_000);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.upstreams[0]?.models[0])).toBe(true);
    expect(Object.isFrozen(cfg.upstreams[0]?.timeouts)).toBe(true);
    expect(() => {
      (cfg.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('treats an empty file as all defaults', () => {
    expect(parseConfig('').upstreams).toEqual([]);
  });
});

describe('loadConfigFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a file and names the file in errors', () => {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, yaml());
    expect(loadConfigFile(good).tiers[0]?.name).toBe('small');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, yaml({ baseUrl: 'nope' }));
    const err = configError(() => loadConfigFile(bad));
    expect(err.source).toBe(bad);
    expect(err.message).toContain(bad);
  });

  it('reports a missing file as a ConfigError', () => {
    expect(configError(() => loadConfigFile(join(dir, 'absent.yaml'))).message).toContain('cannot read the file');
  });
});

describe('defaultConfig', () => {
  it('is valid and carries the documented upstreams, tiers and fallbacks', () => {
    const cfg = defaultConfig({});
    expect(cfg.upstreams.map((u) => [u.name, u.kind, u.baseUrl, u.apiKeyEnv, u.local])).toEqual([
      ['openai', 'openai-compatible', 'https://api.openai.com/v1', 'OPENAI_API_KEY', false],
      ['anthropic', 'anthropic', 'https://api.anthropic.com/v1', 'ANTHROPIC_API_KEY', false],
      ['local', 'openai-compatible', 'http://127.0.0.1:8081/v1', undefined, true],
    ]);
    const models = cfg.upstreams.flatMap((u) => u.models.map((m) => [m.name, m.contextWindow, m.inputPricePer1M, m.outputPricePer1M]));
    expect(models).toEqual([
      ['gpt-4o-mini', 128000, 0.15, 0.6],
      ['gpt-4o', 128000, 2.5, 10],
      ['claude-3-5-haiku-latest', 200000, 0.8, 4],
      ['claude-sonnet-4-5', 200000, 3, 15],
      ['local-llama', 8192, 0, 0],
    ]);
    expect(cfg.tiers.map((t) => t.name)).toEqual(['local', 'small', 'frontier']);
    expect(cfg.fallbacks['gpt-4o']).toEqual(['claude-sonnet-4-5']);
    expect(cfg.fallbacks['claude-sonnet-4-5']).toBeUndefined(); // chains must not loop
    expect(cfg.fallbacks['local-llama']).toBeUndefined();
    expect(Object.isFrozen(cfg.fallbacks)).toBe(true);
  });

  it('lets SWITCHYARD_LOCAL_URL move the local sidecar', () => {
    const cfg = defaultConfig({ SWITCHYARD_LOCAL_URL: 'http://127.0.0.1:9999/v1' });
    expect(cfg.upstreams.find((u) => u.name === 'local')?.baseUrl).toBe('http://127.0.0.1:9999/v1');
  });

  it('is the same text a user can start a file from', () => {
    expect(parseConfig(DEFAULT_CONFIG_YAML, {})).toEqual(defaultConfig({}));
  });
});

describe('upstreamAvailability', () => {
  it('marks upstreams whose key variable is unset or empty unavailable, with advice', () => {
    const result = upstreamAvailability(defaultConfig({}), { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: '' });
    expect(result).toEqual([
      { name: 'openai', available: true },
      { name: 'anthropic', available: false, reason: 'set ANTHROPIC_API_KEY to enable upstream "anthropic"' },
      { name: 'local', available: true },
    ]);
  });
});
