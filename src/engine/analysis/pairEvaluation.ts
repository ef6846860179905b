// One language pair's held-out evaluation at a chosen (layer, strength, positions): unsteered vs steered
// language control, reference NLL and chrF with paired bootstrap intervals, the steering score, alignment
// (cosine to the reference's pooled states at the layers from the steering layer on) before and after,
// and the English regression (the same vector on English prompts: language control toward English and the
// NLL of the rest of the English sentence, steered vs unsteered).

import { steeringPlanFor } from '../steering/library.js';
import type { PositionMode, SteeringVector } from '../steering/vector.js';
import { alignmentCosines, compareSettings, DEFAULT_GENERATION, evaluateSetting, mean, type EvaluationModel, type GenerationSettings, type PairedComparison, type SettingEvaluation, type TranslationItem, type WorkOptions } from './evaluate.js';
import type { PooledStates } from './extract.js';
import { relevanceFromNll, steeringScore, type LanguageIdentifier } from './metrics.js';

/** Summary numbers of one setting (steered or not). */
export interface SettingSummary {
  languageControl: number; // 0–100
  degenerate: number; // continuations counted as loops
  nll: number; // mean reference NLL, nats/token
  chrF: number; // mean sentence chrF, 0–100
  steeringScore: number; // harmonic mean of language control and chrF (0–100)
  steeringScoreNll: number; // harmonic mean of language control and 100·exp(−NLL)
}

/** The evaluation of one pair. */
export interface PairEvaluation {
  name: string;
  source: string;
  target: string;
  method: string;
  layer: number;
  strength: number;
  positions: PositionMode;
  items: number;
  base: SettingSummary;
  steered: SettingSummary;
  comparison: PairedComparison;
  /** Mean cosine(source pooled state, reference pooled state) at layers layer..L, unsteered and steered. */
  alignment: { layers: number[]; base: number[]; steered: number[]; baseMean: number; steeredMean: number };
  englishRegression: { items: number; base: SettingSummary; steered: SettingSummary } | null;
  examples: { source: string; base: string; steered: string }[];
}

function summary(e: SettingEvaluation): SettingSummary {
  const lc = 100 * e.languageControl.rate;
  const chrf = mean(e.chrF);
  const nll = mean(e.nll);
  return {
    languageControl: lc,
    degenerate: e.languageControl.degenerate,
    nll,
    chrF: chrf,
    steeringScore: steeringScore(lc, Math.max(0, Math.min(100, chrf))),
    steeringScoreNll: Number.isFinite(nll) ? steeringScore(lc, relevanceFromNll(Math.max(0, nll))) : NaN,
  };
}

/** Inputs shared by the pairs of one report (unsteered continuations are cached by prompt and seed). */
export interface PairEvaluationContext {
  model: EvaluationModel;
  lid: LanguageIdentifier;
  gen?: GenerationSettings;
  /** Unsteered continuations per prompt list (same prompts and seeds give the same texts), reused across pairs. */
  baseCache?: Map<string, string[]>;
  /** Pooled pivot/reference states per (texts) key, reused for alignment. */
  referenceCache?: Map<string, PooledStates>;
  work?: WorkOptions;
}

/** Evaluates a vector at (layer, strength, positions) on test items, plus the English regression on `englishItems`. */
export async function evaluatePair(
  ctx: PairEvaluationContext,
  vector: SteeringVector,
  name: string,
  items: readonly TranslationItem[],
  setting: { layer: number; strength: number; positions: PositionMode },
  englishItems: readonly TranslationItem[] | null,
): Promise<PairEvaluation> {
  const { model, lid } = ctx;
  const gen = ctx.gen ?? DEFAULT_GENERATION;
  const work = ctx.work ?? {};
  const source = vector.metadata.sourceLanguage;
  const target = vector.metadata.targetLanguage;
  const { plan } = steeringPlanFor([{ vector, layer: setting.layer, strength: setting.strength, unit: 'activationNorm', positions: setting.positions }]);
  const unsteered = async (its: readonly TranslationItem[], tgt: string): Promise<SettingEvaluation> => {
    const key = `${gen.seed}:${gen.maxNewTokens}:${its.map((i) => i.source).join('\u0000')}`;
    const hit = ctx.baseCache?.get(key);
    const e = await evaluateSetting(model, its, tgt, null, lid, gen, work, hit ? { continuations: hit } : {});
    ctx.baseCache?.set(key, e.continuations);
    return e;
  };
  const base = await unsteered(items, target);
  const steered = await evaluateSetting(model, items, target, plan, lid, gen, work);
  const layers = Array.from({ length: model.numLayers - setting.layer + 1 }, (_, i) => setting.layer + i);
  const refKey = `${target}:${items.map((i) => i.id ?? i.reference).join('|')}`;
  let refStates = ctx.referenceCache?.get(refKey);
  if (!refStates) {
    const { extractPooledStates } = await import('./extract.js');
    refStates = await extractPooledStates(model, items.map((i) => i.reference), { layers: Array.from({ length: model.numLayers + 1 }, (_, k) => k) });
    ctx.referenceCache?.set(refKey, refStates);
  }
  const alignBase = await alignmentCosines(model, items, null, layers, refStates);
  const alignSteered = await alignmentCosines(model, items, setting.positions === 'generated' || setting.positions === 'lastPrompt' ? null : plan, layers, refStates);
  const perLayer = (m: Map<number, number[]>): number[] => layers.map((k) => mean(m.get(k) ?? []));
  const ab = perLayer(alignBase);
  const as = perLayer(alignSteered);
  let englishRegression: PairEvaluation['englishRegression'] = null;
  if (englishItems && englishItems.length > 0) {
    const eb = await unsteered(englishItems, 'en');
    const es = await evaluateSetting(model, englishItems, 'en', plan, lid, gen, work);
    englishRegression = { items: englishItems.length, base: summary(eb), steered: summary(es) };
  }
  return {
    name,
    source,
    target,
    method: vector.metadata.method,
    layer: setting.layer,
    strength: setting.strength,
    positions: setting.positions,
    items: items.length,
    base: summary(base),
    steered: summary(steered),
    comparison: compareSettings(base, steered),
    alignment: { layers, base: ab, steered: as, baseMean: mean(ab), steeredMean: mean(as) },
    englishRegression,
    examples: items.slice(0, 2).map((it, i) => ({ source: it.source, base: base.continuations[i] ?? '', steered: steered.continuations[i] ?? '' })),
  };
}

/** English regression items: the first half of English sentences as prompts, the second half as reference. */
export function englishRegressionItems(sentences: readonly string[]): TranslationItem[] {
  return sentences
    .map((s) => s.trim().split(/\s+/))
    .filter((w) => w.length >= 6)
    .map((w) => ({ source: w.slice(0, Math.ceil(w.length / 2)).join(' '), reference: w.slice(Math.ceil(w.length / 2)).join(' ') }));
}
