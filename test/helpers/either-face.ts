/**
 * One Switchyard behind either HTTP face, so a hostile test runs the same
 * assertions through `switchyard serve` and through the Express middleware.
 * Like `gateway.ts`, the response cache is off unless the YAML has a `cache:`
 * section (the default semantic cache would load the embedder in every test).
 */
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { switchyard } from '../../src/adapters/express/index.js';
import { parseConfig } from '../../src/config/load.js';
import { Switchyard } from '../../src/core/pipeline.js';
import { startGateway } from './gateway.js';

export type FaceName = 'serve' | 'express';
export const FACES: readonly FaceName[] = ['serve', 'express'];

/** A running face: its base URL (no trailing slash) and its core. */
export interface RunningFace {
  url: string;
  switchyard: Switchyard;
  close(): Promise<void>;
}

/** Starts `yaml` behind `face`; the cache is off unless the YAML has a `cache:` section. */
export async function startFace(face: FaceName, yaml: string, env: NodeJS.ProcessEnv = process.env): Promise<RunningFace> {
  if (face === 'serve') {
    const gw = await startGateway(yaml, env);
    return { url: gw.url, switchyard: gw.switchyard, close: () => gw.close() };
  }
  const config = parseConfig(/^cache:/m.test(yaml) ? yaml : `${yaml}\ncache: { enabled: false }\n`, env);
  const sy = new Switchyard(config, { env });
  const app = express();
  app.use(switchyard({ switchyard: sy }));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    switchyard: sy,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await sy.close();
    },
  };
}

/** Polls `pred` every 10 ms until it holds (throws after `ms`). */
export async function until(pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
