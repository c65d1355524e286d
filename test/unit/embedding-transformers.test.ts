import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder } from '../../src/embedding/index.js';
import { TransformersEmbedder } from '../../src/embedding/transformers.js';
import { need } from '../fixtures/prerequisites.js';

describe('TransformersEmbedder', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'switchyard-models-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with an error naming the model, the folder it looked in and how to provide the files', async () => {
    const e = new TransformersEmbedder({ model: 'Xenova/all-MiniLM-L6-v2', localPath: dir });
    const err = await e.ready().then(
      () => undefined,
      (x: unknown) => x as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toContain('"Xenova/all-MiniLM-L6-v2" is not available locally');
    expect(err!.message).toContain(join(dir, 'Xenova/all-MiniLM-L6-v2'));
    expect(err!.message).toContain('onnx/model_quantized.onnx');
    expect(err!.message).toContain('allowRemote: false');
    expect(err!.message).toMatch(/set localPath/);
    expect(e.id).toBe('transformers:Xenova/all-MiniLM-L6-v2');
  });

  it('embed() rejects the same way, and a later call tries again', async () => {
    const e = createEmbedder({ kind: 'transformers', localPath: dir });
    await expect(e.embed(['hello'])).rejects.toThrow(/is not available locally/);
    await expect(e.embed(['hello'])).rejects.toThrow(/is not available locally/);
  });

  it.skipIf(need('@xenova/transformers') !== undefined)('loads transformers.js (the package is installed) and reports a broken model folder clearly', async () => {
    const { mkdir, writeFile } = await import('node:fs/promises');
    const modelDir = join(dir, 'acme/broken');
    await mkdir(join(modelDir, 'onnx'), { recursive: true });
    await writeFile(join(modelDir, 'config.json'), '{}');
    await writeFile(join(modelDir, 'tokenizer.json'), 'not json');
    await writeFile(join(modelDir, 'onnx/model_quantized.onnx'), 'not a model');
    const e = new TransformersEmbedder({ model: 'acme/broken', localPath: dir });
    await expect(e.ready()).rejects.toThrow(`transformers embedder: could not load model "acme/broken" from ${modelDir}`);
  }, 30_000);
});
