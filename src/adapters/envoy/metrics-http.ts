/** `/metrics` (the Prometheus text of the core's registry, with Node's process metrics) on its own HTTP port. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsHandler, type HasObservability } from '../../observability/http.js';

/** A listening metrics endpoint. */
export interface MetricsServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on `host:port` (0 = any free port).
 *
 * @example
 * const m = await startMetricsServer(sy, 9464);
 */
export async function startMetricsServer(sy: HasObservability, port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const metrics = metricsHandler(sy);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && !req.url?.startsWith('/metrics?'))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
