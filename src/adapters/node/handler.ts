/**
 * The Node HTTP face shared by the Express middleware and `switchyard serve`:
 * read the body (or take what a body parser left), `decide`, `execute`, and
 * write the answer, streaming as it arrives. A client that disconnects aborts
 * the upstream call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toSwitchyardError } from '../../errors.js';
import { endpointFor, protocolForPath } from '../../core/context.js';
import type { ExecResult, Switchyard } from '../../core/pipeline.js';
import type { RespondOutcome } from '../../core/outcome.js';
import { errorOutcome } from '../../core/render.js';
import { handleAdmin } from './admin.js';
import { FEEDBACK_BODY_LIMIT, isFeedbackPath } from '../../routing/feedback.js';
import { readBody } from './handler-body.js';

export { readBody };

type BodyCarrier = IncomingMessage & { body?: unknown; _body?: boolean };

/** The body a parser already produced, if one ran (express.json/text/raw, body-parser). */
function parsedBody(req: BodyCarrier): unknown {
  if (req._body === true || (req.readableEnded && req.body !== undefined)) return req.body;
  return undefined;
}

function writeRespond(res: ServerResponse, out: RespondOutcome): void {
  if (res.headersSent) return;
  res.writeHead(out.status, { ...out.headers, 'content-type': `${out.contentType}; charset=utf-8`, 'content-length': Buffer.byteLength(out.body) });
  res.end(out.body);
}

async function writeExec(res: ServerResponse, r: ExecResult): Promise<void> {
  if (r.kind === 'json') {
    res.writeHead(r.status, { 'content-type': 'application/json; charset=utf-8', ...r.headers, 'content-length': Buffer.byteLength(r.body) });
    res.end(r.body);
    return;
  }
  // Attempts, upstream and model can change after the headers (a stream resumed on another candidate): trailers carry the final values.
  const trailers = r.trailers && res.req.httpVersion === '1.1' ? r.trailers : undefined;
  res.writeHead(r.status, trailers ? { ...r.headers, trailer: 'x-switchyard-attempts, x-switchyard-upstream, x-switchyard-model' } : r.headers);
  res.flushHeaders();
  for await (const chunk of r.chunks) {
    if (res.destroyed) break;
    if (!res.write(chunk)) await new Promise<void>((resolve) => {
      const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  if (trailers && !res.destroyed) res.addTrailers(trailers());
  res.end();
}

/**
 * Handles one request if it is an LLM route. Returns false when the path is
 * not Switchyard's, so the caller can pass it on.
 */
export async function handleNodeRequest(sy: Switchyard, req: IncomingMessage, res: ServerResponse, face = 'node'): Promise<boolean> {
  // Mount-relative under Express (`app.use('/llm', switchyard())`).
  const path = req.url ?? '/';
  const method = req.method ?? 'GET';
  const isLlm = endpointFor(path) !== undefined || (method === 'GET' && (path === '/v1/models' || path.startsWith('/v1/models?')));
  if (!isLlm && isFeedbackPath(path)) {
    // Routing feedback is a client endpoint (the caller holds the request id), not an admin one.
    try {
      const body = parsedBody(req as BodyCarrier) ?? (method === 'POST' ? await readBody(req, FEEDBACK_BODY_LIMIT) : undefined);
      writeRespond(res, await sy.feedback(method, body, { headers: req.headers, peer: req.socket.remoteAddress, rawHeaders: req.rawHeaders }));
    } catch (e) {
      writeRespond(res, errorOutcome(toSwitchyardError(e), 'openai', undefined));
    }
    return true;
  }
  if (!isLlm) return path.startsWith('/switchyard/') ? handleAdmin(sy, req, res) : false;
  const protocol = protocolForPath(path);
  const ac = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) ac.abort();
  };
  res.on('close', onClose);
  try {
    let body = parsedBody(req as BodyCarrier);
    if (body === undefined && method === 'POST') body = await readBody(req, sy.config.server.bodyLimitBytes);
    const outcome = await sy.decide({ method, path, headers: req.headers, body: body ?? Buffer.alloc(0), peer: req.socket.remoteAddress, rawHeaders: req.rawHeaders, face });
    if (outcome.type === 'pass') return false;
    if (outcome.type === 'respond') {
      writeRespond(res, outcome);
      return true;
    }
    const result = await sy.execute(outcome, ac.signal);
    if ('type' in result) writeRespond(res, result);
    else await writeExec(res, result);
  } catch (e) {
    if (ac.signal.aborted) {
      if (!res.headersSent) res.destroy();
      return true;
    }
    const err = toSwitchyardError(e);
    if (!res.headersSent) writeRespond(res, errorOutcome(err, protocol, undefined));
    else res.destroy(err);
  } finally {
    res.off('close', onClose);
  }
  return true;
}
