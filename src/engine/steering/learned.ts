// A learned vector without autograd (ONNX Runtime has none): the offset at layer k is parametrised as
// s · m_k · unit(v̂ + Σ c_i u_i), with v̂ the unit DiffMean direction, u_i the top-r principal directions of the
// centred paired differences, s a strength in mean-activation-norm units; θ = (log s, c_1..c_r) is optimised
// by SPSA (simultaneous-perturbation stochastic approximation: two loss evaluations per step whatever the
// dimension) on the mean NLL of target-language references given the steered source prompt. The caller keeps
// it only if it beats DiffMean on a dev split (`learnVector` reports both dev losses).

import type { EvaluationModel, TranslationItem } from '../analysis/evaluate.js';
import { referenceNll } from '../analysis/evaluate.js';
import { principalComponents } from '../analysis/linalg.js';
import { seededRandom } from '../analysis/matrix.js';
import type { PooledStates } from '../analysis/extract.js';
import type { SteeringPlan } from '../model/steering.js';
import { SteeringInputError } from './errors.js';
import { createSteeringVector, type SteeringVector } from './vector.js';

/** Options of `learnVector`. */
export interface LearnOptions {
  layer: number;
  initialStrength: number; // activation-norm units (e.g. the DiffMean strength chosen by the sweep)
  rank?: number; // principal directions in the correction; default 4
  iterations?: number; // SPSA steps; default 20
  seed?: number;
  onStep?: (step: number, loss: number) => void;
  signal?: AbortSignal;
}

/** The learned vector and the dev comparison with DiffMean at its own strength. */
export interface LearnResult {
  vector: SteeringVector; // one layer, default strength = the learned s
  strength: number;
  trainLoss: { diffMean: number; learned: number };
  devLoss: { diffMean: number; learned: number };
  beatsDiffMean: boolean;
}

function meanOf(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
}

/** Learns the scale and low-rank correction of a DiffMean vector at one layer (see the module comment). */
export async function learnVector(model: EvaluationModel, source: PooledStates, target: PooledStates, train: readonly TranslationItem[], dev: readonly TranslationItem[], base: SteeringVector, options: LearnOptions): Promise<LearnResult> {
  const k = options.layer;
  const d = base.directions.get(k);
  const m = base.metadata.meanActivationNorms[k];
  if (!d || !m) throw new SteeringInputError(`The DiffMean vector has no direction or mean activation norm at layer ${k}.`);
  const H = d.length;
  const s = source.states.get(k)!;
  const t = target.states.get(k)!;
  const diffs = new Float32Array(s.rows * H);
  for (let i = 0; i < diffs.length; i++) diffs[i] = (t.data[i] as number) - (s.data[i] as number);
  const r = Math.min(options.rank ?? 4, s.rows - 1, H);
  const pcs = r > 0 ? principalComponents({ rows: s.rows, cols: H, data: diffs }, r, { seed: options.seed ?? 1 }).components : [];
  const dn = Math.hypot(...d);
  const offset = (theta: number[]): Float32Array => {
    const v = new Float64Array(H);
    for (let j = 0; j < H; j++) v[j] = (d[j] as number) / dn;
    pcs.forEach((u, i) => {
      for (let j = 0; j < H; j++) v[j] = (v[j] as number) + (theta[i + 1] as number) * (u[j] as number);
    });
    const n = Math.hypot(...v);
    const scale = (Math.exp(theta[0] as number) * m) / n;
    return Float32Array.from(v, (x) => x * scale);
  };
  const plan = (theta: number[]): SteeringPlan => ({ mode: 'all', vectors: [{ layer: k, vector: offset(theta) }] });
  const loss = async (theta: number[], items: readonly TranslationItem[]): Promise<number> => meanOf(await referenceNll(model, items, plan(theta), { promptTokens: 48, batchSize: 16 }));
  const theta0 = [Math.log(Math.max(1e-3, options.initialStrength)), ...pcs.map(() => 0)];
  let theta = [...theta0];
  const rnd = seededRandom(options.seed ?? 7);
  const iterations = options.iterations ?? 20;
  // SPSA gains (Spall's defaults: a_k = a/(k+1+A)^0.602, c_k = c/(k+1)^0.101).
  const a = 0.3;
  const c = 0.15;
  const A = Math.max(1, iterations / 10);
  for (let it = 0; it < iterations; it++) {
    if (options.signal?.aborted) break;
    const ak = a / (it + 1 + A) ** 0.602;
    const ck = c / (it + 1) ** 0.101;
    const delta = theta.map(() => (rnd() < 0.5 ? -1 : 1));
    const plus = await loss(theta.map((x, i) => x + ck * (delta[i] as number)), train);
    const minus = await loss(theta.map((x, i) => x - ck * (delta[i] as number)), train);
    const g = (plus - minus) / (2 * ck);
    theta = theta.map((x, i) => Math.max(-3, Math.min(3, x - (ak * g) / (delta[i] as number))));
    options.onStep?.(it + 1, (plus + minus) / 2);
  }
  const trainLoss = { diffMean: await loss(theta0.map((x, i) => (i === 0 ? x : 0)), train), learned: await loss(theta, train) };
  const devLoss = { diffMean: await loss(theta0.map((x, i) => (i === 0 ? x : 0)), dev), learned: await loss(theta, dev) };
  const strength = Math.exp(theta[0] as number);
  const dir = offset(theta);
  const vector = createSteeringVector({
    ...base.metadata,
    method: 'learned',
    directions: new Map([[k, dir]]),
    meanActivationNorms: { [k]: m },
    defaultLayer: k,
    defaultStrength: Number(strength.toFixed(4)),
    defaultStrengthUnit: 'activationNorm',
    notes: `SPSA (${iterations} steps, rank ${r}) on the NLL of ${train.length} references; dev NLL ${devLoss.learned.toFixed(3)} vs DiffMean ${devLoss.diffMean.toFixed(3)}.`,
  });
  return { vector, strength, trainLoss, devLoss, beatsDiffMean: devLoss.learned < devLoss.diffMean };
}
