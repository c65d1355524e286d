/**
 * An existing Express service (a small orders API) that adds Switchyard:
 * `app.use(switchyard({ config }))` mounted before the service's body parser,
 * and `switchyardErrorHandler()` last. Its own routes keep working; the
 * OpenAI/Anthropic routes (/v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models, /v1/messages) go through Switchyard's cache,
 * router and fallbacks to the upstreams in switchyard.yaml. Malformed JSON
 * on those routes gets the caller's protocol's error JSON, and their bodies
 * are limited by Switchyard (4 MiB), not by express.json()'s 100 KB.
 *
 * Run from the repository root (after `npm run build`):
 *   OPENAI_API_KEY=sk-... node examples/express-app/server.mjs
 * In your own project: `npm install switchyard express`, same imports.
 */
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createLimitedServer, switchyard, switchyardErrorHandler } from 'switchyard/express';

const app = express();

// --- LLM traffic through Switchyard, mounted first ---------------------------
// Before the body parser: Switchyard reads (and limits) LLM bodies itself and
// answers malformed ones in the caller's protocol; other paths pass through.
const configPath = process.env.SWITCHYARD_CONFIG ?? fileURLToPath(new URL('./switchyard.yaml', import.meta.url));
const llm = switchyard({ config: configPath });
app.use(llm);

app.use(express.json()); // the service's own body parser (100 KB default), for its own routes

// --- the service as it was -------------------------------------------------
const orders = [{ id: 1, item: 'coffee beans', quantity: 2 }];
app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
app.get('/api/orders', (_req, res) => res.json(orders));
app.post('/api/orders', (req, res) => {
  const order = { id: orders.length + 1, item: String(req.body?.item ?? ''), quantity: Number(req.body?.quantity ?? 1) };
  orders.push(order);
  res.status(201).json(order);
});

// Anything else is still the service's.
app.use((_req, res) => res.status(404).json({ error: 'not found' }));

// Errors: on LLM routes in the caller's protocol (OpenAI/Anthropic JSON); the
// service's own errors as JSON too, never Express's HTML page with a stack trace.
app.use(switchyardErrorHandler());
app.use((err, _req, res, _next) => {
  const status = Number(err?.status ?? err?.statusCode) || 500;
  res.status(status).json({ error: status < 500 ? 'bad request' : 'internal error' });
});

// The same slow-client limits as `switchyard serve` (headers 10 s, whole request 30 s, ...).
const server = createLimitedServer({}, app);
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(JSON.stringify({ msg: 'express-app listening', url: `http://${address}:${port}` }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => void llm.close().then(() => process.exit(0)));
    server.closeIdleConnections();
  });
}
