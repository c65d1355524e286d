/**
 * An existing Express service (a small orders API) that adds Switchyard with
 * one line: `app.use(switchyard({ config }))`. Its own routes keep working;
 * the OpenAI/Anthropic routes (/v1/chat/completions, /v1/completions,
 * /v1/embeddings, /v1/models, /v1/messages) go through Switchyard's cache,
 * router and fallbacks to the upstreams in switchyard.yaml.
 *
 * Run from the repository root (after `npm run build`):
 *   OPENAI_API_KEY=sk-... node examples/express-app/server.mjs
 * In your own project: `npm install switchyard express`, same imports.
 */
import { fileURLToPath } from 'node:url';
import express from 'express';
import { switchyard } from 'switchyard/express';

const app = express();
app.use(express.json()); // the service's own body parser: Switchyard works with or without it

// --- the service as it was -------------------------------------------------
const orders = [{ id: 1, item: 'coffee beans', quantity: 2 }];
app.get('/healthz', (_req, res) => res.json({ status: 'ok' }));
app.get('/api/orders', (_req, res) => res.json(orders));
app.post('/api/orders', (req, res) => {
  const order = { id: orders.length + 1, item: String(req.body?.item ?? ''), quantity: Number(req.body?.quantity ?? 1) };
  orders.push(order);
  res.status(201).json(order);
});

// --- the one addition: LLM traffic through Switchyard -----------------------
const configPath = process.env.SWITCHYARD_CONFIG ?? fileURLToPath(new URL('./switchyard.yaml', import.meta.url));
const llm = switchyard({ config: configPath });
app.use(llm);

// Anything else is still the service's.
app.use((_req, res) => res.status(404).json({ error: 'not found' }));

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(JSON.stringify({ msg: 'express-app listening', url: `http://${address}:${port}` }));
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    server.close(() => void llm.close().then(() => process.exit(0)));
    server.closeIdleConnections();
  });
}
