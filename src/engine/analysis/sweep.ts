// Layer × strength sweep of one vector on a dev split: every cell generates continuations for the same
// prompts with the same seeds (cells share batches: each row carries its own steering), language control
// is measured with lid.176 under the degeneration rule, and the chosen cell is the weakest one whose language
// control is within one prompt of the best (then higher control, then chrF against the reference).

import type { SteeringPlan, SteerPositionMode } from '../model/steering.js';
import { steeringPlanFor } from '../steering/library.js';
import type { PositionMode, SteeringVector } from '../steering/vector.js';
import { AnalysisInputError } from './errors.js';
import { DEFAULT_GENERATION, generateContinuations, mean, type EvaluationModel, type GenerationSettings, type TranslationItem, type WorkOptions } from './evaluate.js';
import { chrF, languageControl, type LanguageIdentifier } from './metrics.js';

/** Budget and grid of a sweep. */
export interface SweepOptions {
  layers: readonly number[];
  /** Strengths in units of the layer's mean activation norm. */
  strengths: readonly number[];
  /** Strengths given as multiples of each layer's natural DiffMean strength ‖v_k‖/m_k instead (then `strengths` is ignored). */
  naturalMultiples?: readonly number[];
  /** Whose ‖v_k‖/m_k the multiples scale (default: the swept vector); a unit-norm direction (PCA, probe) takes its DiffMean's. */
  naturalFrom?: SteeringVector;
  positions?: PositionMode;
  promptsPerCell: number;
  gen?: GenerationSettings;
}

/** One measured cell. */
export interface SweepCell {
  layer: number;
  strength: number; // activationNorm units
  languageControl: number; // 0–100
  degenerate: number; // count
  chrF: number; // mean sentence chrF, 0–100
}

/** All cells and the chosen one. */
export interface SweepResult {
  cells: SweepCell[];
  best: SweepCell;
  prompts: number;
}

/** The natural strength of layer k: the stored direction's norm over the layer's mean activation norm. */
export function naturalStrength(v: SteeringVector, k: number): number {
  const m = v.metadata.meanActivationNorms[k];
  const n = v.metadata.vectorNorms[k];
  if (!m || n === undefined) throw new AnalysisInputError(`The vector has no norm statistics at layer ${k}.`);
  return n / m;
}

/** Runs the grid on `items` (the first promptsPerCell), steering toward `target`; returns every cell and the best. */
export async function sweepLayerStrength(model: EvaluationModel, vector: SteeringVector, items: readonly TranslationItem[], target: string, lid: LanguageIdentifier, options: SweepOptions, work: WorkOptions = {}): Promise<SweepResult> {
  const use = items.slice(0, options.promptsPerCell);
  if (use.length === 0) throw new AnalysisInputError('The sweep needs at least one dev item.');
  const gen = options.gen ?? DEFAULT_GENERATION;
  const cells: { layer: number; strength: number; plan: SteeringPlan }[] = [];
  for (const k of options.layers) {
    if (!vector.directions.has(k)) throw new AnalysisInputError(`The vector has no direction at layer ${k}.`);
    const strengths = options.naturalMultiples ? options.naturalMultiples.map((x) => x * naturalStrength(options.naturalFrom ?? vector, k)) : options.strengths;
    for (const strength of strengths) {
      const { plan } = steeringPlanFor([{ vector, layer: k, strength, unit: 'activationNorm', positions: options.positions ?? 'all' }]);
      cells.push({ layer: k, strength, plan });
    }
  }
  const prompts: string[] = [];
  const plans: (SteeringPlan | null)[] = [];
  const seeds: number[] = [];
  for (const c of cells) {
    use.forEach((it, i) => {
      prompts.push(it.source);
      plans.push(c.plan);
      seeds.push(gen.seed + i);
    });
  }
  const texts = await generateContinuations(model, prompts, plans, gen, { ...work, seeds });
  const out: SweepCell[] = [];
  for (let c = 0; c < cells.length; c++) {
    const slice = texts.slice(c * use.length, (c + 1) * use.length);
    const lc = await languageControl(slice, target, lid);
    const cell = cells[c] as (typeof cells)[number];
    out.push({ layer: cell.layer, strength: cell.strength, languageControl: 100 * lc.rate, degenerate: lc.degenerate, chrF: mean(slice.map((t, i) => chrF(t, (use[i] as TranslationItem).reference))) });
  }
  return { cells: out, best: chooseCell(out, use.length), prompts: use.length };
}

/**
 * The sweep's choice among measured cells: within one prompt of the best language control the cells are
 * indistinguishable on this budget, so take the weakest of them (less overshoot past the target cluster, so
 * meaning and alignment suffer least), then higher language control, then chrF.
 */
export function chooseCell<C extends SweepCell>(cells: readonly C[], prompts: number): C {
  if (cells.length === 0) throw new AnalysisInputError('A sweep needs at least one cell.');
  const top = Math.max(...cells.map((c) => c.languageControl));
  const tolerance = 100 / prompts + 1e-9;
  return cells.filter((c) => c.languageControl >= top - tolerance).sort((a, b) => a.strength - b.strength || b.languageControl - a.languageControl || b.chrF - a.chrF)[0] as C;
}

/** Position mode of the model layer for a vector-file mode (re-exported for CLI use). */
export type { SteerPositionMode };
