/**
 * Body-parser errors on Switchyard's routes, answered in the caller's
 * protocol. When an app's own `express.json()` (or any body-parser) runs
 * before Switchyard and refuses a request (malformed JSON, a body over its
 * limit, an unsupported charset), Express's default handler answers with an
 * HTML page carrying a stack trace and file paths. This handler answers those
 * requests on the LLM routes with the OpenAI or Anthropic error JSON instead,
 * and passes everything else on.
 *
 * The recommended mounting avoids the parser's limit altogether: mount
 * Switchyard before the app's body parser, so LLM routes are read by
 * Switchyard itself (`server.bodyLimitBytes`, 4 MiB by default).
 */
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { endpointFor, protocolForPath } from '../../core/context.js';
import { errorBody, SwitchyardError, type ErrorCode } from '../../errors.js';

/** What body-parser (and raw-body) put on the errors they raise. */
interface ParserError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  limit?: unknown;
  length?: unknown;
  charset?: unknown;
  encoding?: unknown;
}

/** Whether a path (mount-relative) is one Switchyard serves. */
export function isSwitchyardRoute(path: string): boolean {
  return endpointFor(path) !== undefined || path === '/v1/models' || path.startsWith('/v1/models?');
}

/** The Switchyard error for a body-parser error; generic messages only (no paths, no parser internals). */
export function parserErrorToSwitchyard(err: unknown): SwitchyardError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ParserError;
  const status = Number(e.status ?? e.statusCode);
  const make = (code: ErrorCode, message: string) => new SwitchyardError(code, message);
  switch (e.type) {
    case 'entity.parse.failed':
      return make('invalid_json', 'the request body is not valid JSON');
    case 'entity.too.large':
      return make('body_too_large', typeof e.limit === 'number' ? `request body exceeds the limit of ${e.limit} bytes` : 'request body is too large');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return make('unsupported_media_type', 'the request body uses an unsupported charset or content encoding');
    case 'request.aborted':
      return make('invalid_request', 'the request was aborted before its body was read');
    case 'request.size.invalid':
      return make('invalid_request', 'the request body does not match its content-length');
    case 'stream.encoding.set':
    case 'stream.not.readable':
      return make('internal_error', 'the request body could not be read');
  }
  if (status === 413) return make('body_too_large', 'request body is too large');
  if (status === 415) return make('unsupported_media_type', 'unsupported content type or encoding');
  if (status >= 400 && status < 500) return make('invalid_request', 'the request could not be read');
  return make('internal_error', 'internal error');
}

/**
 * An Express error handler: errors raised on Switchyard's routes before
 * Switchyard ran (body parsers) become a JSON error in the caller's protocol;
 * anything else goes to `next(err)`.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { switchyard, switchyardErrorHandler } from 'switchyard/express';
 * const app = express();
 * app.use(switchyard({ config: 'switchyard.yaml' })); // first: LLM routes read their own bodies
 * app.use(express.json());                            // the app's parser, for its own routes
 * app.use(switchyardErrorHandler());                  // after everything
 * ```
 */
export function switchyardErrorHandler(): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next: NextFunction): void => {
    const path = req.url ?? '/';
    if (!isSwitchyardRoute(path)) return next(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const e = parserErrorToSwitchyard(err);
    const body = JSON.stringify(errorBody(e, protocolForPath(path)));
    res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-switchyard-error': e.code });
    res.end(body);
  };
}

/**
 * Wraps a middleware (typically a body parser) so that it skips Switchyard's
 * routes: for apps whose parser must stay mounted before Switchyard. LLM
 * bodies are then read, and limited, by Switchyard.
 *
 * @example
 * ```ts
 * app.use(skipSwitchyardRoutes(express.json({ limit: '100kb' })));
 * app.use(switchyard({ config: 'switchyard.yaml' }));
 * ```
 */
export function skipSwitchyardRoutes(mw: RequestHandler): RequestHandler {
  return (req, res, next) => (isSwitchyardRoute(req.url ?? '/') ? next() : mw(req, res, next));
}
