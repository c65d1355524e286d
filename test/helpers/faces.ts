/**
 * One YAML config behind either face that runs on Node HTTP: `switchyard
 * serve` (in-process) or the Express middleware on its own server. Tests that
 * must hold on both run through {@link startFace} with `describe.each(FACES)`.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Logger } from 'pino';
import { switchyard } from '../../src/adapters/express/index.js';
import { parseConfig } from '../../src/config/load.js';
import { startServer } from '../../src/cli/serve.js';
import type { Switchyard } from '../../src/core/pipeline.js';
import { quietLogger } from './gateway.js';
import { parse as parseYaml } from 'yaml';
import type { SwitchyardConfigInput } from '../../src/config/schema.js';

export const FACES = ['serve', 'express'] as const;
export type FaceName = (typeof FACES)[number];

export interface RunningFace {
  url: string;
  switchyard: Switchyard;
  close(): Promise<void>;
}

/** Starts `face` on 127.0.0.1:0 over the YAML (validated by the real loader). */
export async function startFace(
  face: FaceName,
  yaml: string,
  env: NodeJS.ProcessEnv = process.env,
  logger: Logger = quietLogger,
  opts: { clock?: () => number } = {},
): Promise<RunningFace> {
  const config = parseConfig(yaml, env);
  if (face === 'serve') {
    const s = await startServer({ config, port: 0, host: '127.0.0.1', env, logger, ...opts });
    return { url: s.url, switchyard: s.switchyard, close: () => s.close() };
  }
  const app = express();
  const mw = switchyard({ config: parseYaml(yaml) as SwitchyardConfigInput, env, live: true, metricsPath: '/metrics', ...opts });
  app.use(mw);
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    switchyard: mw.switchyard,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await mw.close();
    },
  };
}

/**
 * Sends a request byte for byte (header lines as given, repeats included,
 * which fetch would fold) and resolves to the status and JSON body.
 */
export function rawRequest(url: string, method: string, path: string, headerLines: [string, string][], body = ''): Promise<{ status: number; json: any; head: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const split = text.indexOf('\r\n\r\n');
      const head = text.slice(0, split);
      let rest = text.slice(split + 4);
      if (/transfer-encoding: chunked/i.test(head)) {
        let out = '';
        for (;;) {
          const nl = rest.indexOf('\r\n');
          const n = Number.parseInt(rest.slice(0, nl), 16);
          if (!n) break;
          out += rest.slice(nl + 2, nl + 2 + n);
          rest = rest.slice(nl + 2 + n + 2);
        }
        rest = out;
      }
      let json: unknown;
      try {
        json = JSON.parse(rest);
      } catch {
        json = undefined;
      }
      resolve({ status: Number(head.split(' ')[1]), json, head });
    });
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close', 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`];
    for (const [k, v] of headerLines) lines.push(`${k}: ${v}`);
    sock.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
  });
}
