// Hidden-state extraction over many sentences: tokenise (with BOS), run padded batches through the surgered
// inspect session, and pool each sentence's content tokens (BOS, EOS and padding excluded) per layer.
// The result feeds centroids, vector methods, similarity and retrieval.

import type { DecoderSession } from '../model/decoder.js';
import { forwardBatch, lengthSortedBatches, type BatchRunner, type BatchSteering } from '../model/batch.js';
import type { ModelFolder } from '../model/modelFolder.js';
import { AnalysisInputError } from './errors.js';
import type { Matrix } from './matrix.js';
import type { SentencePooling } from './centroids.js';

/** The parts of an opened model extraction needs (an OpenedModel fits). */
export interface ExtractionModel {
  folder: ModelFolder;
  inspect: DecoderSession;
  /** A session without the LM head for extraction (`openExtractionSession`); default: inspect. */
  extractor?: BatchRunner;
  numLayers: number;
  hiddenSize: number;
}

/** Progress of long work: done out of total units (sentences, prompts, cells). */
export type ProgressCallback = (done: number, total: number, what: string) => void;

/** Options of `extractPooledStates`. */
export interface ExtractOptions {
  pooling?: SentencePooling; // default 'mean'
  layers?: readonly number[]; // default 0..L
  batchSize?: number; // sentences per model run; default 16 (1 = one sentence at a time)
  /** Padded tokens (rows × longest row) per model run at most; default EXTRACTION_BATCH_TOKENS. */
  maxBatchTokens?: number;
  maxTokens?: number; // truncate each sentence to this many tokens including BOS; default 96
  /** Additive steering per layer ([H], every position) applied during extraction (for alignment after steering). */
  steering?: BatchSteering | null;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** Called per sentence with its content token ids and, per layer k, their states [n_content * H] (a copy). */
  onTokens?: (index: number, tokenIds: number[], states: Map<number, Float32Array>) => void;
}

/**
 * Default cap on padded tokens (rows × longest row) per extraction run. Bigger runs are slower per token, not
 * faster: the attention buffers grow as rows × heads × T² and the MLP activations as rows × T × intermediate,
 * and past a few hundred tokens they fall out of the CPU caches. Measured on tiny-polyglot (2 shared cores,
 * interleaved): 32 rows × ≤ 96 tokens (the old 4096-token cap) took 1.6× the CPU time of 512-token runs, and
 * 256 was another 3–10 % faster under load. Rows still come length-sorted, so padding stays small.
 */
export const EXTRACTION_BATCH_TOKENS = 256;

/** Pooled sentence states per layer: k → Matrix [n, H] (row i = texts[i]), plus content-token counts per sentence. */
export interface PooledStates {
  layers: number[];
  pooling: SentencePooling;
  states: Map<number, Matrix>;
  tokenCounts: number[];
}

/** Token ids that never count as content: BOS, EOS and padding of the model. */
export function specialTokenIds(folder: ModelFolder): Set<number> {
  const s = new Set<number>(folder.stopTokenIds);
  const t = folder.tokenizer;
  if (t.bosTokenId !== null) s.add(t.bosTokenId);
  if (t.eosTokenId !== null) s.add(t.eosTokenId);
  if (folder.config.bosTokenId !== null) s.add(folder.config.bosTokenId);
  const pad = folder.rawConfig['pad_token_id'];
  if (typeof pad === 'number') s.add(pad);
  return s;
}

/** Prompt token ids of a text: the tokenizer's special tokens (BOS) plus the text, truncated to maxTokens. */
export function encodePrompt(folder: ModelFolder, text: string, maxTokens = Infinity): number[] {
  const ids = folder.tokenizer.encode(text).ids;
  if (ids.length === 0 && folder.tokenizer.bosTokenId !== null) ids.push(folder.tokenizer.bosTokenId);
  return ids.length > maxTokens ? ids.slice(0, maxTokens) : ids;
}

/** Padding id for batches: config pad_token_id, else EOS, else 0 (never attended to either way). */
export function padTokenId(folder: ModelFolder): number {
  const pad = folder.rawConfig['pad_token_id'];
  if (typeof pad === 'number') return pad;
  return folder.tokenizer.eosTokenId ?? 0;
}

/** Pools every sentence's hidden states at each requested layer; batches are length-sorted and padded on the right. */
export async function extractPooledStates(model: ExtractionModel, texts: readonly string[], options: ExtractOptions = {}): Promise<PooledStates> {
  const pooling = options.pooling ?? 'mean';
  const layers = [...(options.layers ?? Array.from({ length: model.numLayers + 1 }, (_, k) => k))];
  const H = model.hiddenSize;
  const special = specialTokenIds(model.folder);
  const seqs = texts.map((t) => encodePrompt(model.folder, t, options.maxTokens ?? 96));
  const states = new Map<number, Matrix>(layers.map((k) => [k, { rows: texts.length, cols: H, data: new Float32Array(texts.length * H) }]));
  const tokenCounts = new Array<number>(texts.length).fill(0);
  const batches = lengthSortedBatches(
    seqs.map((s) => s.length),
    options.batchSize ?? 16,
    options.maxBatchTokens ?? EXTRACTION_BATCH_TOKENS,
  );
  const pad = padTokenId(model.folder);
  let done = 0;
  for (const batch of batches) {
    if (options.signal?.aborted) throw new AnalysisInputError('Extraction was cancelled.');
    const rows = batch.map((i) => seqs[i] as number[]);
    const out = await forwardBatch(model.extractor ?? model.inspect, rows, { layers, padTokenId: pad, steering: options.steering ?? null });
    const T = out.paddedLength;
    batch.forEach((i, b) => {
      const ids = rows[b] as number[];
      const content: number[] = [];
      ids.forEach((id, t) => {
        if (!special.has(id)) content.push(t);
      });
      if (content.length === 0) throw new AnalysisInputError(`Sentence ${i + 1} has no content tokens after removing BOS/EOS/padding: ${JSON.stringify(texts[i])}.`);
      tokenCounts[i] = content.length;
      if (options.onTokens) {
        const per = new Map<number, Float32Array>();
        for (const k of layers) {
          const h = out.hiddenStates.get(k) as Float32Array;
          const m = new Float32Array(content.length * H);
          content.forEach((t, r) => m.set(h.subarray((b * T + t) * H, (b * T + t + 1) * H), r * H));
          per.set(k, m);
        }
        options.onTokens(i, content.map((t) => ids[t] as number), per);
      }
      for (const k of layers) {
        const h = out.hiddenStates.get(k) as Float32Array;
        const dst = (states.get(k) as Matrix).data.subarray(i * H, (i + 1) * H);
        if (pooling === 'last') {
          const t = content[content.length - 1] as number;
          dst.set(h.subarray((b * T + t) * H, (b * T + t + 1) * H));
        } else {
          const acc = new Float64Array(H);
          for (const t of content) {
            const o = (b * T + t) * H;
            for (let j = 0; j < H; j++) acc[j] = (acc[j] as number) + (h[o + j] as number);
          }
          for (let j = 0; j < H; j++) dst[j] = (acc[j] as number) / content.length;
        }
      }
    });
    done += batch.length;
    options.onProgress?.(done, texts.length, 'sentences');
  }
  return { layers, pooling, states, tokenCounts };
}

/** Rows of a matrix selected by index, as a new Matrix. */
export function selectRows(m: Matrix, indices: readonly number[]): Matrix {
  const out = new Float32Array(indices.length * m.cols);
  indices.forEach((i, r) => out.set(m.data.subarray(i * m.cols, (i + 1) * m.cols), r * m.cols));
  return { rows: indices.length, cols: m.cols, data: out };
}
