/** envoy/envoy.yaml against Envoy's own API protos: every field and typed_config must be known to Envoy. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EnvoyProtoChecker } from '../fixtures/envoy-proto-check.js';
import { defaultConfig, parseConfig } from '../../src/config/load.js';

const BOOTSTRAP = 'envoy.config.bootstrap.v3.Bootstrap';
const text = readFileSync(new URL('../../envoy/envoy.yaml', import.meta.url), 'utf8');
const checker = new EnvoyProtoChecker();

type Json = Record<string, any>;
const fresh = (): Json => parse(text) as Json;
const hcm = (c: Json): Json => c.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
const extProc = (c: Json): Json => hcm(c).http_filters.find((f: Json) => f.name === 'envoy.filters.http.ext_proc').typed_config;
const cluster = (c: Json, name: string): Json => c.static_resources.clusters.find((x: Json) => x.name === name);

describe('envoy/envoy.yaml', () => {
  it('is a valid envoy.config.bootstrap.v3.Bootstrap, typed_configs included', () => {
    expect(checker.check(fresh(), BOOTSTRAP)).toEqual([]);
  });

  it('configures ext_proc as Switchyard needs it', () => {
    const c = fresh();
    const ep = extProc(c);
    expect(ep['@type']).toBe('type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor');
    expect(ep.grpc_service.envoy_grpc.cluster_name).toBe('switchyard');
    expect(ep.allow_mode_override).toBe(true);
    expect(ep.failure_mode_allow).toBe(true);
    // Nothing is buffered unless Switchyard asks (mode_override on an LLM route's request headers).
    expect(ep.processing_mode).toMatchObject({ request_header_mode: 'SEND', request_body_mode: 'NONE', response_header_mode: 'SKIP', response_body_mode: 'NONE' });
    const names = hcm(c).http_filters.map((f: Json) => f.name);
    expect(names.indexOf('envoy.filters.http.ext_proc')).toBeLessThan(names.indexOf('envoy.filters.http.router'));
    expect(names.at(-1)).toBe('envoy.filters.http.router');
    const sw = cluster(c, 'switchyard');
    expect(sw.typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config).toHaveProperty('http2_protocol_options');
  });

  it('strips routing and identity headers before the route is picked and again before the upstream call', () => {
    const c = fresh();
    const names = ['x-switchyard-upstream', 'x-switchyard-tenant', 'x-switchyard-team', 'x-switchyard-key-id', 'x-switchyard-proxy-secret'];
    const early = hcm(c).early_header_mutation_extensions;
    expect(early).toHaveLength(1);
    expect(early[0].typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation');
    expect(early[0].typed_config.mutations.map((m: Json) => m.remove)).toEqual(names);
    expect(hcm(c).route_config.virtual_hosts[0].request_headers_to_remove).toEqual(names);
    // The late header_mutation filter (which ran after route selection) is gone.
    expect(hcm(c).http_filters.map((f: Json) => f.name)).toEqual(['envoy.filters.http.ext_proc', 'envoy.filters.http.router']);
  });

  it('has one buffer limit, on the listener, at least the default bodyLimitBytes', () => {
    const c = fresh();
    expect(c.static_resources.listeners[0].per_connection_buffer_limit_bytes).toBe(8 * 1024 * 1024);
    for (const cl of c.static_resources.clusters) expect(cl.per_connection_buffer_limit_bytes).toBeUndefined();
  });

  it('routes each upstream on the routing header, with TLS and SNI to the clouds', () => {
    const c = fresh();
    const routes: Json[] = hcm(c).route_config.virtual_hosts[0].routes;
    for (const name of ['local', 'openai', 'anthropic']) {
      const r = routes.find((x) => x.match.headers?.[0]?.name === 'x-switchyard-upstream' && x.match.headers[0].string_match.exact === name);
      expect(r?.route.cluster).toBe(name);
      expect(r?.route.retry_policy.retry_on).toContain('5xx');
      expect(cluster(c, name)).toBeDefined();
    }
    for (const [name, host] of [['openai', 'api.openai.com'], ['anthropic', 'api.anthropic.com']] as const) {
      const ts = cluster(c, name).transport_socket;
      expect(ts.typed_config['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext');
      expect(ts.typed_config.sni).toBe(host);
      expect(routes.find((x) => x.route?.cluster === name)?.route.host_rewrite_literal).toBe(host);
    }
  });

  it("keeps Switchyard's envoy.listenerBufferLimitBytes default equal to the listener's limit", () => {
    expect(defaultConfig({}).envoy.listenerBufferLimitBytes).toBe(fresh().static_resources.listeners[0].per_connection_buffer_limit_bytes);
    expect(defaultConfig({}).envoy.bufferedResponseMaxBytes).toBeLessThanOrEqual(defaultConfig({}).envoy.listenerBufferLimitBytes);
    expect(defaultConfig({}).server.bodyLimitBytes).toBeLessThanOrEqual(defaultConfig({}).envoy.listenerBufferLimitBytes);
  });

  it('refuses a buffered-response limit above the listener limit', () => {
    expect(() => parseConfig('envoy: { listenerBufferLimitBytes: 1048576, bufferedResponseMaxBytes: 2097152 }\n', {})).toThrow(/bufferedResponseMaxBytes must not exceed/);
  });

  it("loads every yaml block of envoy/README.md with the real loader", () => {
    const readme = readFileSync(new URL('../../envoy/README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    for (const b of blocks) expect(parseConfig(b, {}).envoy.bufferedResponseMaxBytes).toBeGreaterThan(0);
  });

  describe('the check fails on a mistake', () => {
    const cases: [string, (c: Json) => void, RegExp][] = [
      ['a misspelt field in a typed_config', (c) => { const ep = extProc(c); ep.allow_mode_overide = ep.allow_mode_override; delete ep.allow_mode_override; }, /unknown field "allow_mode_overide"/],
      ['a misspelt field deep in a nested typed_config', (c) => { const tls = cluster(c, 'openai').transport_socket.typed_config; tls.snii = tls.sni; delete tls.sni; }, /unknown field "snii"/],
      ['a misspelt top-level field', (c) => { c.static_resource = c.static_resources; delete c.static_resources; }, /unknown field "static_resource"/],
      ['an unresolvable @type', (c) => { extProc(c)['@type'] = 'type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcesor'; }, /names no message/],
      ['an unknown enum value', (c) => { extProc(c).processing_mode.response_body_mode = 'BUFFERD'; }, /not a value of enum/],
      ['two members of a oneof', (c) => { hcm(c).route_config.virtual_hosts[0].routes[0].direct_response = { status: 200 }; }, /several members set: route, direct_response/],
      ['a camelCase field name', (c) => { const ep = extProc(c); ep.messageTimeout = ep.message_timeout; delete ep.message_timeout; }, /unknown field "messageTimeout"/],
      ['a malformed duration', (c) => { extProc(c).message_timeout = '2 seconds'; }, /not a Duration/],
      ['a missing required field', (c) => { delete extProc(c).grpc_service; }, /"grpc_service" .* is required/],
      ['a wrong scalar type', (c) => { c.static_resources.listeners[0].address.socket_address.port_value = 'ten thousand'; }, /not a valid uint32/],
      ['a misspelt field in the early header mutation', (c) => { const t = hcm(c).early_header_mutation_extensions[0].typed_config; t.mutation = t.mutations; delete t.mutations; }, /unknown field "mutation"/],
      ['an early header mutation of the wrong @type', (c) => { hcm(c).early_header_mutation_extensions[0].typed_config['@type'] = 'type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutations'; }, /names no message/],
      ['a header mutation with neither remove nor append', (c) => { hcm(c).early_header_mutation_extensions[0].typed_config.mutations[0] = {}; }, /oneof "action" .* is required/],
      ['a misspelt virtual host field', (c) => { const vh = hcm(c).route_config.virtual_hosts[0]; vh.request_header_to_remove = vh.request_headers_to_remove; delete vh.request_headers_to_remove; }, /unknown field "request_header_to_remove"/],
      ['an unknown key in a map of Any', (c) => { cluster(c, 'switchyard').typed_extension_protocol_options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'].explicit_http_config.http3_options = {}; }, /unknown field "http3_options"/],
    ];
    it.each(cases)('%s', (_name, mutate, expected) => {
      const c = fresh();
      mutate(c);
      const errors = checker.check(c, BOOTSTRAP);
      expect(errors.join('\n')).toMatch(expected);
    });
  });
});
