/** Reading request bodies with a size limit. */
import type { IncomingMessage } from 'node:http';
import { SwitchyardError } from '../../errors.js';

/** Reads the raw body up to `limit` bytes; rejects with `body_too_large` past it. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      return reject(new SwitchyardError('body_too_large', `request body is ${declared} bytes; the limit is ${limit}`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new SwitchyardError('body_too_large', `request body exceeds the limit of ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

