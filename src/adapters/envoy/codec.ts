/**
 * The ext_proc wire codec on the hot path: Envoy's own .proto files loaded
 * once with protobufjs (the same files `protos.ts` names), but without
 * proto-loader's per-message object conversion. A request is decoded to
 * protobufjs message objects that already have the shape of `wire.ts`
 * (snake_case fields, the oneof's name as a virtual `request` field, bytes as
 * Buffers; unset fields read as null/empty from the prototype). A response
 * is encoded straight from the plain object, with only the enum names turned
 * into numbers — and the answers that never change (the frozen constants in
 * `mutations.ts`) are encoded once and their bytes reused.
 *
 * The tests' Envoy stand-in decodes and encodes with proto-loader, so every
 * integration test checks this codec against the reference conversion.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { EXT_PROC_PROTO, envoyProtoIncludeDirs } from './protos.js';
import type { CommonResponse, HeaderMutation, HeaderValueOption, ProcessingMode, ProcessingRequest, ProcessingResponse } from './wire.js';

const require = createRequire(import.meta.url);

/** Encoder and decoder of the `Process` stream's messages. */
export interface ExtProcCodec {
  decode(buf: Buffer): ProcessingRequest;
  encode(msg: ProcessingResponse): Buffer;
}

type EnumValues = Record<string, number>;

let cached: ExtProcCodec | undefined;

/** The codec (protos loaded on first use). */
export function extProcCodec(): ExtProcCodec {
  cached ??= createCodec();
  return cached;
}

function createCodec(): ExtProcCodec {
  const dirs = [...envoyProtoIncludeDirs(), dirname(require.resolve('protobufjs/package.json'))];
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const d of dirs) {
      const p = join(d, target);
      if (existsSync(p)) return p;
    }
    return target;
  };
  root.loadSync(EXT_PROC_PROTO, { keepCase: true });
  root.resolveAll();
  const Req = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const Res = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const headerMode = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.HeaderSendMode').values;
  const bodyMode = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode').values;
  const append = root.lookupEnum('envoy.config.core.v3.HeaderValueOption.HeaderAppendAction').values;
  const status = root.lookupEnum('envoy.service.ext_proc.v3.CommonResponse.ResponseStatus').values;
  const httpStatus = root.lookupEnum('envoy.type.v3.StatusCode').values;

  const num = (values: EnumValues, v: string | number | undefined): number | undefined => (v === undefined ? undefined : typeof v === 'number' ? v : values[v]);

  const modeCache = new WeakMap<object, object>();
  const mode = (m: ProcessingMode): object => {
    let w = modeCache.get(m);
    if (!w) {
      w = {
        request_header_mode: num(headerMode, m.request_header_mode),
        response_header_mode: num(headerMode, m.response_header_mode),
        request_body_mode: num(bodyMode, m.request_body_mode),
        response_body_mode: num(bodyMode, m.response_body_mode),
        request_trailer_mode: num(headerMode, m.request_trailer_mode),
        response_trailer_mode: num(headerMode, m.response_trailer_mode),
      };
      // Only frozen (shared) modes are worth remembering; a per-request object would only grow the map.
      if (Object.isFrozen(m)) modeCache.set(m, w);
    }
    return w;
  };
  const overwrite = append.OVERWRITE_IF_EXISTS_OR_ADD!;
  // Per-request answers are converted field by field (no object spread): only enum names become numbers.
  const option = (o: HeaderValueOption): object =>
    o.append_action === undefined
      ? o
      : { header: o.header, append_action: o.append_action === 'OVERWRITE_IF_EXISTS_OR_ADD' ? overwrite : num(append, o.append_action) };
  const mutation = (h: HeaderMutation | undefined): object | undefined => {
    const set = h?.set_headers;
    if (h === undefined || set === undefined || set.length === 0) return h;
    const out: object[] = new Array(set.length);
    for (let i = 0; i < set.length; i++) out[i] = option(set[i]!);
    return { set_headers: out, remove_headers: h.remove_headers };
  };
  const common = (c: CommonResponse | undefined): object | undefined => {
    if (c === undefined || (c.status === undefined && c.header_mutation === undefined)) return c;
    return {
      status: num(status, c.status),
      header_mutation: mutation(c.header_mutation),
      body_mutation: c.body_mutation,
      clear_route_cache: c.clear_route_cache,
    };
  };
  const phase = (p: { response?: CommonResponse } | undefined): object | undefined =>
    p === undefined || p.response === undefined ? p : { response: common(p.response) };

  const toWire = (m: ProcessingResponse): object => {
    const w: Record<string, unknown> = {};
    if (m.request_headers) w.request_headers = phase(m.request_headers);
    if (m.request_body) w.request_body = phase(m.request_body);
    if (m.response_headers) w.response_headers = phase(m.response_headers);
    if (m.response_body) w.response_body = phase(m.response_body);
    if (m.request_trailers) w.request_trailers = { header_mutation: mutation(m.request_trailers.header_mutation) };
    if (m.response_trailers) w.response_trailers = { header_mutation: mutation(m.response_trailers.header_mutation) };
    if (m.immediate_response) {
      const ir = m.immediate_response;
      w.immediate_response = { ...ir, status: { code: num(httpStatus, ir.status.code) }, headers: mutation(ir.headers) };
    }
    if (m.mode_override) w.mode_override = mode(m.mode_override);
    return w;
  };

  const encoded = new WeakMap<object, Buffer>();
  return {
    decode: (buf) => Req.decode(buf) as unknown as ProcessingRequest,
    encode(msg) {
      const frozen = Object.isFrozen(msg);
      if (frozen) {
        const b = encoded.get(msg);
        if (b) return b;
      }
      const u = Res.encode(toWire(msg)).finish();
      const b = Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
      if (frozen) encoded.set(msg, b);
      return b;
    },
  };
}
