/**
 * A decoder-only ONNX language model with its tokenizer: loads a model folder and runs one forward pass
 * over a prompt. This is the foundation's minimal data path; the full engine (graph surgery for per-layer
 * hidden states, steering inputs, KV-cache generation) lives in src/engine/model/.
 *
 * onnxruntime-node is imported only here and only inside the engine worker / CLI, never by the extension host.
 */
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-node';
import { EngineError } from '../protocol/errors';
import type { ModelSummary, NextTokenCandidate, PromptAnalysis, TokenInfo } from '../protocol/engine';
import { checkOnnxSignature, findModelFiles, parseModelConfig, readJsonFile, type ModelConfig, type ModelFiles } from './modelFolder';

export interface LoadOptions {
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. */
  threads: number;
}

export interface ForwardResult {
  /** Logits at the last position, length = vocabulary size of the output. */
  lastLogits: Float32Array;
  inferenceMs: number;
}

export class CausalLm {
  private constructor(
    readonly files: ModelFiles,
    readonly config: ModelConfig,
    private readonly tokenizer: Tokenizer,
    private readonly session: ort.InferenceSession,
    readonly loadMs: number,
  ) {}

  /** Loads config, tokenizer and ONNX session; every user-caused failure is a typed {@link EngineError}. */
  static async load(dir: string, options: LoadOptions): Promise<CausalLm> {
    const started = performance.now();
    const files = await findModelFiles(dir);
    const config = parseModelConfig(await readJsonFile(files.configPath), files.configPath, path.basename(dir));
    const tokenizer = await loadTokenizer(files);
    await checkOnnxSignature(files.onnxPath);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(files.onnxPath, sessionOptions(options.threads));
    } catch (err) {
      throw new EngineError('MODEL_INVALID', `onnxruntime could not load ${files.onnxPath}: ${(err as Error).message}`, 'Check that the file is a complete ONNX model (opset <= 26).', { cause: err });
    }
    const lm = new CausalLm(files, config, tokenizer, session, performance.now() - started);
    lm.planFeeds(); // fail now, at load time, if the inputs are of a kind we cannot feed
    return lm;
  }

  get summary(): ModelSummary {
    return {
      dir: this.files.dir,
      name: this.config.name,
      architecture: this.config.architecture,
      hiddenSize: this.config.hiddenSize,
      numLayers: this.config.numLayers,
      vocabSize: this.config.vocabSize,
      inputNames: [...this.session.inputNames],
      outputNames: [...this.session.outputNames],
    };
  }

  /** Token ids and their pieces/texts; special tokens are not added (we analyse exactly what the user wrote). */
  tokenize(prompt: string): TokenInfo[] {
    const encoding = this.tokenizer.encode(prompt, { add_special_tokens: false });
    const texts = tokenTexts(encoding.ids, (ids) => this.tokenizer.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false }));
    return encoding.ids.map((id, i) => ({ id, piece: encoding.tokens[i] ?? '', text: texts[i] ?? '' }));
  }

  decodeToken(id: number): string {
    return this.tokenizer.decode([id], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** Runs the model once over `ids` (batch 1) and returns the logits at the last position. */
  async forward(ids: readonly number[]): Promise<ForwardResult> {
    if (ids.length === 0) throw new EngineError('PROMPT_EMPTY', 'The prompt has no tokens.', 'Put the cursor on a line with text, or select a prompt.');
    const max = this.config.maxPositions;
    if (max !== undefined && ids.length > max) {
      throw new EngineError('PROMPT_TOO_LONG', `The prompt has ${ids.length} tokens; this model reads at most ${max}.`, 'Select a shorter prompt.');
    }
    const feeds = this.buildFeeds(ids);
    const logitsName = this.session.outputNames.includes('logits') ? 'logits' : this.session.outputNames[0];
    if (logitsName === undefined) throw new EngineError('UNSUPPORTED_MODEL', 'The model has no outputs.', 'Export the model with a logits output.');
    const started = performance.now();
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await this.session.run(feeds, [logitsName]);
    } catch (err) {
      throw new EngineError('INFERENCE_FAILED', `onnxruntime failed to run the model: ${(err as Error).message}`, 'The model may not be a decoder-only language model.', { cause: err });
    }
    const inferenceMs = performance.now() - started;
    const logits = out[logitsName];
    if (logits === undefined || logits.type !== 'float32' || logits.dims.length !== 3) {
      throw new EngineError('UNSUPPORTED_MODEL', `Output ${logitsName} should be float32 [batch, sequence, vocabulary]; got ${logits?.type ?? 'nothing'} [${logits?.dims.join(', ') ?? ''}].`, 'Export the model with float32 logits.');
    }
    const [, seq, vocab] = logits.dims as [number, number, number];
    const data = logits.data as Float32Array;
    // Copy the last row: the tensor's buffer belongs to onnxruntime and is released with it.
    const lastLogits = data.slice((seq - 1) * vocab, seq * vocab);
    logits.dispose();
    return { lastLogits, inferenceMs };
  }

  /** Tokenize + one forward pass: tokens and the top-k next tokens after the prompt. */
  async analyze(prompt: string, topK: number): Promise<PromptAnalysis> {
    if (prompt.trim() === '') throw new EngineError('PROMPT_EMPTY', 'The prompt is empty.', 'Put the cursor on a line with text, or select a prompt.');
    const t0 = performance.now();
    const tokens = this.tokenize(prompt);
    const tokenizeMs = performance.now() - t0;
    const { lastLogits, inferenceMs } = await this.forward(tokens.map((t) => t.id));
    const nextTokens = topKSoftmax(lastLogits, topK).map(({ id, probability, logit }): NextTokenCandidate => ({ id, probability, logit, text: this.decodeToken(id) }));
    return { prompt, tokens, nextTokens, model: this.summary, timings: { loadMs: 0, tokenizeMs, inferenceMs } };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  /**
   * Builds the feeds for one run. Besides `input_ids`, Optimum exports take `attention_mask`,
   * `position_ids` and an (empty, on the first step) KV cache `past_key_values.*`; merged decoders also
   * take `use_cache_branch`. Anything else is a model we do not know how to drive.
   */
  private buildFeeds(ids: readonly number[]): Record<string, ort.Tensor> {
    const n = ids.length;
    const feeds: Record<string, ort.Tensor> = {};
    for (const plan of this.planFeeds()) {
      switch (plan.kind) {
        case 'ids':
          feeds[plan.name] = new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, n]);
          break;
        case 'mask':
          feeds[plan.name] = new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);
          break;
        case 'positions':
          feeds[plan.name] = new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]);
          break;
        case 'emptyPast':
          feeds[plan.name] = plan.type === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), plan.dims) : new ort.Tensor('float32', new Float32Array(0), plan.dims);
          break;
        case 'useCacheBranch':
          feeds[plan.name] = new ort.Tensor('bool', [false], [1]);
          break;
      }
    }
    return feeds;
  }

  private planFeeds(): FeedPlan[] {
    const plans: FeedPlan[] = [];
    const metadata = this.session.inputMetadata;
    this.session.inputNames.forEach((name, index) => {
      const meta = metadata[index];
      if (name === 'input_ids') plans.push({ kind: 'ids', name });
      else if (name === 'attention_mask') plans.push({ kind: 'mask', name });
      else if (name === 'position_ids') plans.push({ kind: 'positions', name });
      else if (name === 'use_cache_branch') plans.push({ kind: 'useCacheBranch', name });
      else if (name.startsWith('past_key_values.') || name.startsWith('past_key.') || name.startsWith('past_value.')) {
        const type = meta?.isTensor === true ? meta.type : 'float32';
        if (type !== 'float32' && type !== 'float16') throw new EngineError('UNSUPPORTED_MODEL', `Input ${name} has type ${type}; only float32/float16 KV caches are supported.`, 'Export the model in float32 or float16.');
        plans.push({ kind: 'emptyPast', name, type, dims: this.emptyPastDims(name, meta) });
      } else {
        throw new EngineError('UNSUPPORTED_MODEL', `The model has an input named ${name} that Polyglot Lens does not know how to fill.`, 'Decoder-only models with input_ids (+ attention_mask, position_ids, past_key_values.*) are supported.');
      }
    });
    if (!plans.some((p) => p.kind === 'ids')) {
      throw new EngineError('UNSUPPORTED_MODEL', 'The model has no input_ids input.', 'Decoder-only models take token ids in an input named input_ids.');
    }
    return plans;
  }

  /** [batch=1, kv_heads, past_length=0, head_dim], taking numbers from the graph where it has them. */
  private emptyPastDims(name: string, meta: ort.InferenceSession.ValueMetadata | undefined): number[] {
    const shape = meta?.isTensor === true ? meta.shape : [];
    const fromConfig = [1, this.config.numKeyValueHeads, 0, this.config.headDim];
    return fromConfig.map((fallback, axis) => {
      if (axis === 0) return 1;
      if (axis === 2) return 0;
      const dim = shape[axis];
      if (typeof dim === 'number' && dim > 0) return dim;
      if (fallback === undefined) throw new EngineError('UNSUPPORTED_MODEL', `Cannot size the empty KV cache ${name}: config.json has no num_attention_heads/head_dim.`, 'Add num_key_value_heads and head_dim to config.json.');
      return fallback;
    });
  }
}

type FeedPlan =
  | { kind: 'ids' | 'mask' | 'positions' | 'useCacheBranch'; name: string }
  | { kind: 'emptyPast'; name: string; type: 'float32' | 'float16'; dims: number[] };

function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    interOpNumThreads: 1,
    // onnxruntime's thread pools spin-wait by default; inside an editor (and next to other sessions)
    // that burns cores for nothing, measured to slow two coexisting sessions ~5x on 2 cores.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

async function loadTokenizer(files: ModelFiles): Promise<Tokenizer> {
  const json = await readJsonFile(files.tokenizerPath);
  const config = files.tokenizerConfigPath !== undefined ? await readJsonFile(files.tokenizerConfigPath) : {};
  if (typeof json !== 'object' || json === null || typeof (json as { model?: unknown }).model !== 'object') {
    throw new EngineError('TOKENIZER_INVALID', `${files.tokenizerPath} is not a Hugging Face tokenizer.json (no "model" section).`, 'Use the tokenizer.json saved with the model (tokenizer.save() in Python).');
  }
  try {
    return new Tokenizer(json, typeof config === 'object' && config !== null ? config : {});
  } catch (err) {
    throw new EngineError('TOKENIZER_INVALID', `${files.tokenizerPath} could not be loaded: ${(err as Error).message}`, 'Use the tokenizer.json saved with the model.', { cause: err });
  }
}

/** Tokens of context decoded before each token: enough for decoders that treat the first token specially. */
const TEXT_CONTEXT = 8;

/**
 * What each token adds to the decoded text, so that the texts of all tokens concatenate to the decoded
 * prompt. Decoding tokens one by one does not: a character split over two byte-level tokens decodes as
 * two U+FFFD, and SentencePiece decoders drop the leading space of a lone token. Instead token i's text
 * is decode(context..i) minus decode(context..i-1), with trailing U+FFFD (an unfinished UTF-8 sequence)
 * held back until the token that completes the character; such a token's text is ''.
 */
export function tokenTexts(ids: readonly number[], decode: (ids: number[]) => string): string[] {
  const clean = (s: string): string => s.replace(/\uFFFD+$/u, '');
  return ids.map((_, i) => {
    const from = Math.max(0, i - TEXT_CONTEXT);
    const before = i > from ? clean(decode(ids.slice(from, i))) : ''; // decode([]) throws
    const upTo = clean(decode(ids.slice(from, i + 1)));
    if (upTo.startsWith(before)) return upTo.slice(before.length);
    return decode([ids[i] as number]); // a decoder that rewrites earlier text: fall back to the lone token
  });
}

/** Indices of the k largest logits with their softmax probabilities over the whole vocabulary, best first. */
export function topKSoftmax(logits: Float32Array, k: number): { id: number; logit: number; probability: number }[] {
  let max = -Infinity;
  for (const x of logits) if (x > max) max = x;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - max);
  // Partial selection: k is small (<= 50), the vocabulary can be 150k.
  const best: { id: number; logit: number }[] = [];
  for (let id = 0; id < logits.length; id++) {
    const logit = logits[id] as number;
    if (best.length < k || logit > (best[best.length - 1] as { logit: number }).logit) {
      let at = best.length;
      while (at > 0 && (best[at - 1] as { logit: number }).logit < logit) at--;
      best.splice(at, 0, { id, logit });
      if (best.length > k) best.pop();
    }
  }
  return best.map(({ id, logit }) => ({ id, logit, probability: Math.exp(logit - max) / sum }));
}

