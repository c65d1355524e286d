/**
 * The part of node-llama-cpp's API the sidecar uses, described here so the
 * gateway builds without the package (an optional peer dependency: see
 * `src/optional-module.ts`). `test/integration/sidecar-api.test.ts` runs it
 * against the real package.
 */
import { importOptional } from '../optional-module.js';

/** A chat history item in node-llama-cpp's shape. */
export type ChatHistoryItem =
  | { type: 'system'; text: string }
  | { type: 'user'; text: string }
  | { type: 'model'; response: string[] };

/** Options shared by chat and completion generation. */
export interface GenerateOptions {
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  customStopTriggers?: string[];
  onToken?: (tokens: readonly number[]) => void;
  onTextChunk?: (text: string) => void;
  signal?: AbortSignal;
  stopOnAbortSignal?: boolean;
}

/** A generation's result. */
export interface GenerateResult {
  response: string;
  metadata: { stopReason: string };
}

export interface LlamaTokenizer {
  (text: string): readonly number[];
}

export interface LlamaContextSequence {
  readonly __sequence?: never;
}

export interface LlamaContext {
  readonly contextSize: number;
  readonly totalSequences: number;
  getSequence(): LlamaContextSequence;
  dispose(): Promise<void>;
}

export interface LlamaEmbeddingContext {
  getEmbeddingFor(text: string): Promise<{ vector: readonly number[] }>;
  dispose(): Promise<void>;
}

export interface LlamaModel {
  readonly tokenizer: unknown;
  tokenize(text: string): readonly number[];
  createContext(o: { contextSize: number; sequences: number; threads: number }): Promise<LlamaContext>;
  createEmbeddingContext(o: { contextSize: number; threads: number }): Promise<LlamaEmbeddingContext>;
  dispose(): Promise<void>;
}

export interface Llama {
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<LlamaModel>;
  dispose(): Promise<void>;
}

export interface LlamaChatInstance {
  readonly chatWrapper: {
    generateContextState(o: { chatHistory: ChatHistoryItem[] }): { contextText: { tokenize(tokenizer: unknown): readonly unknown[] } };
  };
  generateResponse(history: ChatHistoryItem[], o: GenerateOptions): Promise<GenerateResult>;
  dispose(o: { disposeSequence: boolean }): void;
}

export interface LlamaCompletionInstance {
  generateCompletionWithMeta(prompt: string, o: GenerateOptions): Promise<GenerateResult>;
  dispose(o: { disposeSequence: boolean }): void;
}

/** node-llama-cpp's log levels the sidecar reads. */
export interface LlamaLogLevels {
  readonly error: string;
  readonly fatal: string;
  readonly warn: string;
}

/** The module's exports the sidecar uses. */
export interface NodeLlamaCpp {
  getLlama(o: {
    gpu: false;
    build: 'never';
    maxThreads: number;
    logLevel: string;
    logger: (level: string, message: string) => void;
  }): Promise<Llama>;
  LlamaChat: new (o: { contextSequence: LlamaContextSequence; autoDisposeSequence: boolean }) => LlamaChatInstance;
  LlamaCompletion: new (o: { contextSequence: LlamaContextSequence; autoDisposeSequence: boolean }) => LlamaCompletionInstance;
  LlamaLogLevel: LlamaLogLevels;
}

/**
 * node-llama-cpp, or a one-line {@link MissingOptionalPackageError} naming the install command.
 *
 * @example
 * const { getLlama } = await loadNodeLlamaCpp();
 */
export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  return importOptional<NodeLlamaCpp>('node-llama-cpp');
}
