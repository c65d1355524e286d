/**
 * The Express face as a user would run it: an Express 5 app with
 * `app.use(switchyard({ config }))`, in its own process, one OpenAI-compatible
 * upstream, cache off, no retries (the same config `switchyard serve` gets in
 * the bench). Prints its URL on stdout.
 *
 *   node bench/lib/express-app.mjs http://127.0.0.1:PORT/v1
 *
 * Plain JavaScript on purpose: the measured process runs on bare `node` over
 * `dist/`, as `switchyard serve` does, with no TypeScript loader in its memory.
 */
import express from 'express';
import { switchyard } from '../../dist/adapters/express/index.js';

const upstream = process.argv[2];
if (!upstream) {
  process.stderr.write('usage: node bench/lib/express-app.mjs <upstream base URL>\n');
  process.exit(2);
}

const app = express();
app.disable('x-powered-by');
const mw = switchyard({
  config: {
    upstreams: [{ name: 'bench', kind: 'openai-compatible', baseUrl: upstream, models: [{ name: 'bench-model' }], retry: { max: 0 } }],
    cache: { enabled: false },
  },
});
app.use(mw);

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`http://127.0.0.1:${server.address().port}\n`);
});
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void mw.close().finally(() => process.exit(0));
});
