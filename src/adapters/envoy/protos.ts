/**
 * Envoy's own API protos, loaded from the npm package that ships them
 * (`@grpc/grpc-js-xds` carries envoy-api, xds, googleapis and
 * protoc-gen-validate under `deps/`). Never hand-written copies: the wire
 * format is whatever Envoy's .proto files say.
 */
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import * as protoLoader from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

/** The directories holding Envoy's protos and their imports, for protobufjs / proto-loader. */
export function envoyProtoIncludeDirs(): string[] {
  const deps = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d));
}

/** The ext_proc service file, relative to the envoy-api include dir. */
export const EXT_PROC_PROTO = 'envoy/service/ext_proc/v3/external_processor.proto';
/** Fully qualified name of the service Envoy calls. */
export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

/**
 * How messages are converted: field names as in the .proto (snake_case),
 * enums as their names, a virtual field naming the set member of each oneof,
 * bytes as Buffers, no defaults filled in (an absent field is `undefined`).
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  oneofs: true,
};

let cached: protoLoader.PackageDefinition | undefined;

/** The package definition of `envoy.service.ext_proc.v3` (loaded once). */
export function extProcPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(EXT_PROC_PROTO, { ...LOADER_OPTIONS, includeDirs: envoyProtoIncludeDirs() });
  return cached;
}

/** The `Process` bidi method's definition, with its (de)serializers. */
export function processMethod(): protoLoader.MethodDefinition<object, object> {
  const svc = extProcPackageDefinition()[EXT_PROC_SERVICE] as protoLoader.ServiceDefinition;
  return svc['Process'] as protoLoader.MethodDefinition<object, object>;
}
