// Evaluation of a steering setting on translation pairs (see shared/notes/METHOD.md, "Metrics"):
// continuations sampled with fixed per-item seeds (the same seed steered and unsteered), language control
// with lid.176 under the degeneration rule, the NLL of the reference given the (steered) prompt, chrF of
// the continuation against the reference, and alignment (cosine between the steered source sentence's
// pooled states and its reference's, at the layers from the steering layer on).

import type { DecoderSession } from '../model/decoder.js';
import { batchSteeringFromPlan, forwardBatch, generateBatch, lengthSortedBatches } from '../model/batch.js';
import type { ModelFolder } from '../model/modelFolder.js';
import type { SteeringPlan } from '../model/steering.js';
import { AnalysisInputError } from './errors.js';
import { encodePrompt, extractPooledStates, padTokenId, type ExtractionModel, type PooledStates, type ProgressCallback } from './extract.js';
import { chrF, languageControl, pairedBootstrap, type LanguageControlResult, type LanguageIdentifier, type PairedBootstrapResult } from './metrics.js';
import { cosineSimilarity } from './similarity.js';

/** What evaluation needs of an opened model (an OpenedModel fits). */
export interface EvaluationModel extends ExtractionModel {
  folder: ModelFolder;
  generator: DecoderSession;
}

/** One evaluation item: a prompt in the source language and its reference in the target language. */
export interface TranslationItem {
  id?: string;
  source: string;
  reference: string;
}

/** Decoding settings of an evaluation (defaults: the demo model's fidelity test). */
export interface GenerationSettings {
  maxNewTokens: number; // tokens per continuation; default 32
  temperature: number; // default 0.7
  topP: number; // default 0.9
  seed: number; // item i uses seed + i, steered and unsteered alike; default 0
  promptTokens: number; // prompts truncated to this many tokens (BOS included); default 48
  batchSize: number; // rows per batched model run; default 16
}

/** The demo model's fidelity-test decoding: sampling at temperature 0.7, top-p 0.9, seed = item index, 32 tokens. */
export const DEFAULT_GENERATION: GenerationSettings = { maxNewTokens: 32, temperature: 0.7, topP: 0.9, seed: 0, promptTokens: 48, batchSize: 16 };

/** Progress and cancellation for long evaluations. */
export interface WorkOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** Per-prompt seeds for generateContinuations (default gen.seed + index), e.g. the item's index in a sweep cell. */
  seeds?: readonly number[];
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AnalysisInputError('The evaluation was cancelled.');
}

/** Samples one continuation per prompt (batched, KV cache; one plan for all, or one per prompt); prompt i uses seed gen.seed + i. */
export async function generateContinuations(model: EvaluationModel, prompts: readonly string[], steering: SteeringPlan | null | readonly (SteeringPlan | null)[], gen: GenerationSettings = DEFAULT_GENERATION, work: WorkOptions = {}): Promise<string[]> {
  const ids = prompts.map((p) => encodePrompt(model.folder, p, gen.promptTokens));
  const out = new Array<string>(prompts.length).fill('');
  const batches = lengthSortedBatches(ids.map((s) => s.length), gen.batchSize);
  let done = 0;
  for (const batch of batches) {
    checkAbort(work.signal);
    const res = await generateBatch(model.generator, batch.map((i) => ids[i] as number[]), {
      maxNewTokens: gen.maxNewTokens,
      sampling: { temperature: gen.temperature, topP: gen.topP, seed: gen.seed },
      seeds: batch.map((i) => work.seeds?.[i] ?? gen.seed + i),
      ...(Array.isArray(steering) ? { rowSteering: batch.map((i) => (steering as readonly (SteeringPlan | null)[])[i] ?? null) } : { steering: steering as SteeringPlan | null }),
      stopTokenIds: model.folder.stopTokenIds,
      padTokenId: padTokenId(model.folder),
      ...(work.signal ? { signal: work.signal } : {}),
    });
    batch.forEach((i, r) => {
      const ids = (res[r] as { tokenIds: number[] }).tokenIds;
      out[i] = ids.length === 0 ? '' : model.folder.tokenizer.decode(ids, { skipSpecialTokens: true });
    });
    done += batch.length;
    work.onProgress?.(done, prompts.length, 'continuations');
  }
  return out;
}

/** Mean NLL (nats per token) of each item's reference tokens following its (steered) prompt; reference tokens are "generated" positions. */
export async function referenceNll(model: EvaluationModel, items: readonly TranslationItem[], steering: SteeringPlan | null, gen: Pick<GenerationSettings, 'promptTokens' | 'batchSize'> = DEFAULT_GENERATION, work: WorkOptions = {}): Promise<number[]> {
  const tok = model.folder.tokenizer;
  const prompts = items.map((it) => encodePrompt(model.folder, it.source, gen.promptTokens));
  const refs = items.map((it) => tok.encode(' ' + it.reference.trim(), { addSpecialTokens: false }).ids.slice(0, 48));
  const seqs = prompts.map((p, i) => [...p, ...(refs[i] as number[])]);
  const out = new Array<number>(items.length).fill(NaN);
  let done = 0;
  for (const batch of lengthSortedBatches(seqs.map((s) => s.length), gen.batchSize)) {
    checkAbort(work.signal);
    const rows = batch.map((i) => seqs[i] as number[]);
    const T = Math.max(...rows.map((r) => r.length));
    const steer = batchSteeringFromPlan(steering, model.numLayers, model.hiddenSize, batch.map((i) => (prompts[i] as number[]).length), T);
    const res = await forwardBatch(model.generator, rows, { wantLogits: true, layers: [], padTokenId: padTokenId(model.folder), steering: steer });
    const V = res.vocabSize;
    const logits = res.logits as Float32Array;
    batch.forEach((i, b) => {
      const p = (prompts[i] as number[]).length;
      const ref = refs[i] as number[];
      if (ref.length === 0) throw new AnalysisInputError(`Item ${i + 1} has an empty reference.`);
      let nll = 0;
      for (let j = 0; j < ref.length; j++) {
        const o = (b * T + p - 1 + j) * V;
        let max = -Infinity;
        for (let v = 0; v < V; v++) if ((logits[o + v] as number) > max) max = logits[o + v] as number;
        let z = 0;
        for (let v = 0; v < V; v++) z += Math.exp((logits[o + v] as number) - max);
        nll += max + Math.log(z) - (logits[o + (ref[j] as number)] as number);
      }
      out[i] = nll / ref.length;
    });
    done += batch.length;
    work.onProgress?.(done, items.length, 'references scored');
  }
  return out;
}

/** Per-layer per-item cosine between the (steered) source's pooled states and the reference's unsteered pooled states. */
export async function alignmentCosines(
  model: EvaluationModel,
  items: readonly TranslationItem[],
  steering: SteeringPlan | null,
  layers: readonly number[],
  referenceStates?: PooledStates,
  work: WorkOptions = {},
): Promise<Map<number, number[]>> {
  const refs = referenceStates ?? (await extractPooledStates(model, items.map((it) => it.reference), { layers, ...work }));
  const srcTexts = items.map((it) => it.source);
  // The whole source sentence is the prompt here: 'generated' mode steers none of it.
  const plan = steering && steering.mode !== 'generated' ? steering : null;
  let steer = null;
  if (plan) {
    if (plan.mode === 'all' || plan.mode === 'prompt') steer = batchSteeringFromPlan({ ...plan, mode: 'all' }, model.numLayers, model.hiddenSize, [1], 1);
    else throw new AnalysisInputError('Alignment is measured with steering at every prompt position (modes all/prompt); last-prompt-token steering changes one token only.');
  }
  const src = await extractPooledStates(model, srcTexts, { layers, steering: steer, ...work });
  const out = new Map<number, number[]>();
  for (const k of layers) {
    const a = src.states.get(k);
    const b = refs.states.get(k);
    if (!a || !b) throw new AnalysisInputError(`Alignment: no states at layer ${k}.`);
    out.set(k, items.map((_, i) => cosineSimilarity(a.data.subarray(i * a.cols, (i + 1) * a.cols), b.data.subarray(i * b.cols, (i + 1) * b.cols))));
  }
  return out;
}

/** Everything measured for one steering setting (or none) on one list of items. */
export interface SettingEvaluation {
  continuations: string[];
  languageControl: LanguageControlResult;
  /** Per item: mean NLL of the reference (nats/token). */
  nll: number[];
  /** Per item: sentence chrF of the continuation against the reference (0–100). */
  chrF: number[];
}

/** Generates, identifies, scores: language control toward `target`, reference NLL and chrF per item. */
export async function evaluateSetting(
  model: EvaluationModel,
  items: readonly TranslationItem[],
  target: string,
  steering: SteeringPlan | null,
  lid: LanguageIdentifier,
  gen: GenerationSettings = DEFAULT_GENERATION,
  work: WorkOptions = {},
  options: { nll?: boolean; continuations?: readonly string[] } = {},
): Promise<SettingEvaluation> {
  if (items.length === 0) throw new AnalysisInputError('Evaluation needs at least one item.');
  const continuations = options.continuations ? [...options.continuations] : await generateContinuations(model, items.map((it) => it.source), steering, gen, work);
  const lc = await languageControl(continuations, target, lid);
  const nll = options.nll === false ? items.map(() => NaN) : await referenceNll(model, items, steering, gen, work);
  const chrf = continuations.map((c, i) => chrF(c, (items[i] as TranslationItem).reference));
  return { continuations, languageControl: lc, nll, chrF: chrf };
}

/** Paired comparisons steered vs unsteered: language control (per-item 0/100), NLL (lower is better) and chrF. */
export interface PairedComparison {
  languageControl: PairedBootstrapResult;
  nll: PairedBootstrapResult;
  chrF: PairedBootstrapResult;
}

/** Bootstrap intervals (1000 resamples, 95 %) of steered − unsteered per metric, items paired. */
export function compareSettings(base: SettingEvaluation, steered: SettingEvaluation, seed = 1): PairedComparison {
  const lc = (e: SettingEvaluation): number[] => e.languageControl.verdicts.map((v) => (v.success ? 100 : 0));
  return {
    languageControl: pairedBootstrap(lc(base), lc(steered), { seed }),
    nll: pairedBootstrap(base.nll, steered.nll, { seed }),
    chrF: pairedBootstrap(base.chrF, steered.chrF, { seed }),
  };
}

/** Mean of finite numbers (NaN when none). */
export function mean(xs: readonly number[]): number {
  const f = xs.filter((x) => Number.isFinite(x));
  return f.length === 0 ? NaN : f.reduce((a, b) => a + b, 0) / f.length;
}
