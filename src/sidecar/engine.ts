/**
 * The model behind the sidecar: node-llama-cpp with its prebuilt CPU binary
 * (never a source build), one llama context with one sequence per parallel
 * slot, and an embedding context. Generation reports text as it arrives,
 * honours max tokens, temperature, top-p, seed and stop strings, and stops
 * when its signal aborts.
 */
import { basename } from 'node:path';
import {
  loadNodeLlamaCpp,
  type ChatHistoryItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
  type NodeLlamaCpp,
} from './llama-api.js';

/** How the engine loads the model. */
export interface EngineOptions {
  modelPath: string;
  /** CPU threads for evaluation. */
  threads: number;
  /** Tokens of context per sequence. */
  contextSize: number;
  /** Sequences (parallel requests). */
  parallel: number;
  /** Create the embedding context (needed for `/v1/embeddings`). */
  embeddings: boolean;
  /** Receives llama.cpp's warnings and errors. */
  log?: (level: 'error' | 'warn', message: string) => void;
}

/** One chat turn, already flattened to text. */
export interface EngineMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Sampling and stopping. */
export interface SamplingParams {
  maxTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP?: number;
  seed?: number;
  /** Strings that end the answer (not included in it). */
  stop: string[];
}

/** Streaming and cancellation. */
export interface GenerationHooks {
  onText?: (text: string) => void;
  signal?: AbortSignal;
}

/** Why a generation ended, in OpenAI's words (`abort`: the client went away). */
export type FinishReason = 'stop' | 'length' | 'abort';

/** A finished generation with token usage. */
export interface Generation {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
}

/** The prompt alone fills the context: the caller should use a model with a larger one. */
export class ContextOverflowError extends Error {
  constructor(readonly promptTokens: number, readonly contextSize: number) {
    super(`the prompt is ${promptTokens} tokens; this model's context is ${contextSize} tokens`);
    this.name = 'ContextOverflowError';
  }
}

function finishReason(stop: string): FinishReason {
  if (stop === 'maxTokens') return 'length';
  if (stop === 'abort') return 'abort';
  return 'stop';
}

function toHistory(messages: readonly EngineMessage[]): ChatHistoryItem[] {
  const out: ChatHistoryItem[] = messages.map((m): ChatHistoryItem =>
    m.role === 'assistant' ? { type: 'model', response: [m.content] } : m.role === 'system' ? { type: 'system', text: m.content } : { type: 'user', text: m.content },
  );
  // The last item is the model turn to write; a trailing assistant message is continued (prefill).
  if (out.at(-1)?.type !== 'model') out.push({ type: 'model', response: [] });
  return out;
}

/**
 * A loaded, warmed model.
 *
 * @example
 * const engine = await LlamaEngine.load({ modelPath, threads: 1, contextSize: 2048, parallel: 1, embeddings: true });
 * const g = await engine.chat([{ role: 'user', content: 'hi' }], { maxTokens: 8, temperature: 0, stop: [] });
 */
export class LlamaEngine {
  private readonly free: LlamaContextSequence[];

  private constructor(
    private readonly lib: NodeLlamaCpp,
    private readonly llama: Llama,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly embedding: LlamaEmbeddingContext | undefined,
    /** File name without `.gguf`. */
    readonly name: string,
  ) {
    this.free = [];
    for (let i = 0; i < context.totalSequences; i++) this.free.push(context.getSequence());
  }

  /** Loads the model and its contexts, then warms it with a one-token generation. */
  static async load(o: EngineOptions): Promise<LlamaEngine> {
    const lib = await loadNodeLlamaCpp();
    const { LlamaLogLevel } = lib;
    const llama = await lib.getLlama({
      gpu: false,
      build: 'never',
      maxThreads: o.threads,
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (!text || !o.log) return;
        o.log(level === LlamaLogLevel.error || level === LlamaLogLevel.fatal ? 'error' : 'warn', text);
      },
    });
    const model = await llama.loadModel({ modelPath: o.modelPath, gpuLayers: 0 });
    const context = await model.createContext({ contextSize: o.contextSize, sequences: o.parallel, threads: o.threads });
    const embedding = o.embeddings ? await model.createEmbeddingContext({ contextSize: o.contextSize, threads: o.threads }) : undefined;
    const engine = new LlamaEngine(lib, llama, model, context, embedding, basename(o.modelPath).replace(/\.gguf$/i, ''));
    await engine.complete('Hi', { maxTokens: 1, temperature: 0, stop: [] });
    return engine;
  }

  /** Context size of each sequence, in tokens. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  get embeddingsEnabled(): boolean {
    return this.embedding !== undefined;
  }

  /** Tokens in a text as this model counts them. */
  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  private take(): LlamaContextSequence {
    const seq = this.free.pop();
    // The queue admits at most `parallel` requests; reaching this is a bug, not load.
    if (!seq) throw new Error('no free context sequence: more requests than parallel slots');
    return seq;
  }

  /** Answers a conversation with the model's chat template. */
  async chat(messages: readonly EngineMessage[], p: SamplingParams, hooks: GenerationHooks = {}): Promise<Generation> {
    const seq = this.take();
    const chat = new this.lib.LlamaChat({ contextSequence: seq, autoDisposeSequence: false });
    try {
      const history = toHistory(messages);
      const prompt = chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer).length;
      this.checkFits(prompt);
      let completion = 0;
      const r = await chat.generateResponse(history, {
        ...this.sampling(p),
        onToken: (t) => (completion += t.length),
        ...(hooks.onText ? { onTextChunk: (text: string) => text && hooks.onText!(text) } : {}),
        ...(hooks.signal ? { signal: hooks.signal, stopOnAbortSignal: true } : {}),
      });
      return { text: r.response, finishReason: finishReason(r.metadata.stopReason), promptTokens: prompt, completionTokens: completion };
    } finally {
      chat.dispose({ disposeSequence: false });
      this.free.push(seq);
    }
  }

  /** Continues a raw prompt (no chat template). */
  async complete(prompt: string, p: SamplingParams, hooks: GenerationHooks = {}): Promise<Generation> {
    const seq = this.take();
    const completion = new this.lib.LlamaCompletion({ contextSequence: seq, autoDisposeSequence: false });
    try {
      const promptTokens = this.countTokens(prompt);
      this.checkFits(promptTokens);
      let count = 0;
      const r = await completion.generateCompletionWithMeta(prompt, {
        ...this.sampling(p),
        onToken: (t) => (count += t.length),
        ...(hooks.onText ? { onTextChunk: (text: string) => text && hooks.onText!(text) } : {}),
        ...(hooks.signal ? { signal: hooks.signal, stopOnAbortSignal: true } : {}),
      });
      return { text: r.response, finishReason: finishReason(r.metadata.stopReason), promptTokens, completionTokens: count };
    } finally {
      completion.dispose({ disposeSequence: false });
      this.free.push(seq);
    }
  }

  /** One unit vector per input, with the tokens they used. Throws when embeddings are disabled. */
  async embed(inputs: readonly string[]): Promise<{ vectors: number[][]; promptTokens: number }> {
    if (!this.embedding) throw new Error('embeddings are disabled (start the sidecar without --no-embeddings)');
    const vectors: number[][] = [];
    let promptTokens = 0;
    for (const text of inputs) {
      const v = (await this.embedding.getEmbeddingFor(text)).vector;
      // L2-normalised, as llama-server and OpenAI answer.
      const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
      vectors.push(v.map((x) => x / norm));
      promptTokens += this.countTokens(text);
    }
    return { vectors, promptTokens };
  }

  /** Refuses a prompt that leaves no room to answer (node-llama-cpp would silently drop its beginning). */
  private checkFits(promptTokens: number): void {
    if (promptTokens >= this.context.contextSize) throw new ContextOverflowError(promptTokens, this.context.contextSize);
  }

  private sampling(p: SamplingParams) {
    return {
      maxTokens: p.maxTokens,
      temperature: p.temperature,
      ...(p.topP !== undefined ? { topP: p.topP } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      ...(p.stop.length > 0 ? { customStopTriggers: p.stop } : {}),
    };
  }

  async close(): Promise<void> {
    await this.embedding?.dispose();
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
