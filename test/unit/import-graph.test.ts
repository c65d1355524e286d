/** The core's import graph stays free of the faces' frameworks: express and gRPC load only through their subpaths. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { expect, it } from 'vitest';

function externalImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const ext = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)[^'"]*from ['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec));
      else ext.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
    }
  };
  walk(resolve(entry));
  return ext;
}

it('the core (dist/index.js) imports neither express, http-proxy-middleware nor gRPC', () => {
  const ext = externalImports('dist/index.js');
  expect(ext.has('zod')).toBe(true);
  for (const face of ['express', 'http-proxy-middleware', '@grpc/grpc-js', '@grpc/proto-loader', 'node-llama-cpp']) expect(ext.has(face)).toBe(false);
});
