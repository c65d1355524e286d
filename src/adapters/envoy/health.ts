/**
 * The standard `grpc.health.v1.Health` service (`Check`, `Watch`) for the
 * ext_proc server, registered on its @grpc/grpc-js `Server` with pass-through
 * (de)serializers: the messages are the bytes of the health.proto that
 * grpc-health-check ships, decoded and encoded here with protobufjs. Unlike
 * grpc-health-check's own implementation, the open `Watch` calls can be ended
 * at shutdown, so a graceful shutdown does not wait the whole grace period for
 * a watcher that will never hang up.
 */
import * as grpc from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

/** `grpc.health.v1` serving status. */
export type ServingStatus = 'SERVING' | 'NOT_SERVING';

/** The health statuses the server reports (`''` = the server as a whole). */
export interface HealthStatuses {
  setStatus(service: string, status: ServingStatus): void;
  getStatus(service: string): ServingStatus | undefined;
}

/** The service, ready for `server.addService(definition, implementation)`. */
export interface HealthService {
  readonly statuses: HealthStatuses;
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Ends every open `Watch` call (OK), so a graceful shutdown does not wait for them. */
  endWatches(): void;
}

/** Bytes in, bytes out: grpc-js does no object conversion. */
export const passThrough = (b: Buffer): Buffer => b;

const SERVICE = 'grpc.health.v1.Health';

function method(name: string, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/${SERVICE}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  };
}

interface HealthTypes {
  Req: protobuf.Type;
  Res: protobuf.Type;
  values: Record<string, number>;
}

let types: HealthTypes | undefined;

function healthTypes(): HealthTypes {
  if (types) return types;
  const file = join(dirname(require.resolve('grpc-health-check/package.json')), 'proto/health/v1/health.proto');
  const root = protobuf.loadSync(file);
  types = {
    Req: root.lookupType('grpc.health.v1.HealthCheckRequest'),
    Res: root.lookupType('grpc.health.v1.HealthCheckResponse'),
    values: root.lookupEnum('grpc.health.v1.HealthCheckResponse.ServingStatus').values,
  };
  return types;
}

/**
 * Creates the health service with its initial statuses.
 *
 * @example
 * const health = createHealthService({ '': 'SERVING' });
 * server.addService(health.definition, health.implementation);
 * health.statuses.setStatus('', 'NOT_SERVING'); // Check answers NOT_SERVING, watchers are told
 */
export function createHealthService(initial: Record<string, ServingStatus>): HealthService {
  const h = healthTypes();
  const map = new Map<string, ServingStatus>(Object.entries(initial));
  const watchers = new Set<{ service: string; call: grpc.ServerWritableStream<Buffer, Buffer> }>();
  const bytes = (status: ServingStatus | 'SERVICE_UNKNOWN') => Buffer.from(h.Res.encode({ status: h.values[status] }).finish());
  const serviceOf = (req: Buffer) => String((h.Req.decode(req) as unknown as { service?: string }).service ?? '');

  const statuses: HealthStatuses = {
    setStatus(service, status) {
      map.set(service, status);
      for (const w of watchers) if (w.service === service) w.call.write(bytes(status));
    },
    getStatus: (service) => map.get(service),
  };

  const check: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    let service: string;
    try {
      service = serviceOf(call.request);
    } catch {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: 'unreadable HealthCheckRequest' });
      return;
    }
    const status = map.get(service);
    if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: `unknown service ${service}` });
    else callback(null, bytes(status));
  };

  const watch: grpc.handleServerStreamingCall<Buffer, Buffer> = (call) => {
    let service: string;
    try {
      service = serviceOf(call.request);
    } catch {
      call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'unreadable HealthCheckRequest' });
      return;
    }
    const w = { service, call };
    watchers.add(w);
    const drop = () => watchers.delete(w);
    call.once('cancelled', drop);
    call.once('close', drop);
    call.write(bytes(map.get(service) ?? 'SERVICE_UNKNOWN'));
  };

  return {
    statuses,
    definition: { Check: method('Check', false), Watch: method('Watch', true) },
    implementation: { Check: check, Watch: watch },
    endWatches() {
      for (const w of watchers) w.call.end();
      watchers.clear();
    },
  };
}
