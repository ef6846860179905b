/**
 * The panel's view model: everything the Steer Prompt panel draws, in the shape the drawing wants.
 *
 * The webview renders only this (it never sees the model). The host maps an engine result into it —
 * layer convention as everywhere in Polyglot Lens: k = 0 is the embeddings output, k = L the output of the
 * last block (`hidden_states.{k}`). Pure data and pure functions: no DOM, no Node, so the host, the CLI and
 * tests can import it.
 *
 * Similarities are cosine similarities of a token's hidden state with each language's centroid at that
 * layer (any monotone "closeness" in [-1, 1] works: the panel normalises colour over what it is sent).
 */
import { arrayOf, bool, int, literal, nonNegativeInt, num, object, optional, ProtocolError, str, type Validator } from '../protocol/validate';

/** A language the analysis compares against (ISO 639-1 code and an English name for labels). */
export interface LanguageInfo {
  code: string;
  name: string;
}

/** One token at one layer. */
export interface HeatmapCell {
  /** Code of the language whose centroid is closest. */
  nearest: string;
  /** Similarity to that language (= similarities[nearest]). */
  similarity: number;
  /** Similarity to every language of `PanelViewModel.languages`, by code. */
  similarities: Record<string, number>;
}

/** A logit-lens candidate: what the layer's state would decode to through the final norm + lm_head. */
export interface LensCandidate {
  text: string;
  probability: number;
  /** Language the token belongs to, when the engine knows (the token -> language table). */
  language?: string;
}

/** A point of the 2-D PCA projection of one layer (centroids and token states share the same axes). */
export interface ProjectedPoint {
  x: number;
  y: number;
}

export interface LayerProjection {
  /** Percent of variance each of the two axes explains (for the axis labels). */
  explained?: [number, number];
  centroids: (ProjectedPoint & { language: string })[];
  /** One point per prompt token, in token order. */
  tokens: ProjectedPoint[];
}

/** One row of the heatmap: hidden states `hidden_states.{k}`. */
export interface LayerView {
  k: number;
  /** One cell per prompt token, in token order. */
  cells: HeatmapCell[];
  /** The whole prompt's (mean-pooled) similarity to each language at this layer — the language x layer view and the inspector's bars. */
  promptSimilarity: Record<string, number>;
  /** Logit lens: top candidates per token position (optional: the inspector says when it is missing). */
  logitLens?: LensCandidate[][];
  projection?: LayerProjection;
}

export interface ContinuationView {
  text: string;
  /** Generated tokens (text of each, concatenating to `text`), for the token-level diff. */
  tokens: string[];
  /** Identified language code ('und' when unknown). */
  language: string;
  /** Identifier's confidence in [0, 1], when it gives one. */
  confidence?: number;
}

export type VectorOrigin = 'bundled' | 'workspace' | 'computed';

/** A steering vector the user can toggle. `layer` is the k of `steer.{k}` it is added at. */
export interface VectorView {
  id: string;
  name: string;
  origin: VectorOrigin;
  /** Source and target language codes (fr -> en moves French states toward English). */
  source: string;
  target: string;
  method?: string;
  enabled: boolean;
  layer: number;
  /** Layers the vector can be applied at (a bundled vector exists for every layer). */
  layers: number[];
  strength: number;
  /** Slider range; defaults 0 .. 4. */
  maxStrength?: number;
  positions: string;
}

export interface PanelViewModel {
  model: { name: string; numLayers: number; hiddenSize: number };
  /** Prompt tokens as text (concatenating to the prompt; '' for the first bytes of a split character). */
  tokens: string[];
  languages: LanguageInfo[];
  /** Unsteered analysis, one entry per k = 0 .. numLayers, in order. */
  layers: LayerView[];
  /** The same with the enabled vectors applied (absent when no vector is on). */
  steeredLayers?: LayerView[];
  continuations?: { base: ContinuationView; steered?: ContinuationView };
  vectors: VectorView[];
}

// ---- validation ------------------------------------------------------------------------------------

function recordOf<T>(item: Validator<T>): Validator<Record<string, T>> {
  return (v, path) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError('expected object', path);
    const out: Record<string, T> = {};
    for (const [key, value] of Object.entries(v)) out[key] = item(value, `${path}.${key}`);
    return out;
  };
}

function pair(v: unknown, path: string): [number, number] {
  const a = arrayOf(num, 2)(v, path);
  if (a.length !== 2) throw new ProtocolError('expected 2 numbers', path);
  return [a[0] as number, a[1] as number];
}

const cell: Validator<HeatmapCell> = object({ nearest: str, similarity: num, similarities: recordOf(num) });
const lensCandidate: Validator<LensCandidate> = object({ text: str, probability: num, language: optional(str) });
const point = { x: num, y: num };
const projection: Validator<LayerProjection> = object({
  explained: optional(pair),
  centroids: arrayOf(object({ ...point, language: str }), 1000),
  tokens: arrayOf(object(point), 100_000),
});
const layer: Validator<LayerView> = object({
  k: nonNegativeInt,
  cells: arrayOf(cell, 100_000),
  promptSimilarity: recordOf(num),
  logitLens: optional(arrayOf(arrayOf(lensCandidate, 100), 100_000)),
  projection: optional(projection),
});
const continuation: Validator<ContinuationView> = object({ text: str, tokens: arrayOf(str, 100_000), language: str, confidence: optional(num) });
const vector: Validator<VectorView> = object({
  id: str,
  name: str,
  origin: literal('bundled', 'workspace', 'computed'),
  source: str,
  target: str,
  method: optional(str),
  enabled: bool,
  layer: nonNegativeInt,
  layers: arrayOf(nonNegativeInt, 10_000),
  strength: num,
  maxStrength: optional(num),
  positions: str,
});

const shape = object({
  model: object({ name: str, numLayers: nonNegativeInt, hiddenSize: int }),
  tokens: arrayOf(str, 100_000),
  languages: arrayOf(object({ code: str, name: str }), 1000),
  layers: arrayOf(layer, 10_000),
  steeredLayers: optional(arrayOf(layer, 10_000)),
  continuations: optional(object({ base: continuation, steered: optional(continuation) })),
  vectors: arrayOf(vector, 10_000),
});

/** Validates a view model, including the cross-field facts the drawing relies on (one cell per token, every language known). */
export const panelViewModel: Validator<PanelViewModel> = (v, path) => {
  const vm = shape(v, path);
  const codes = new Set(vm.languages.map((l) => l.code));
  const checkLayers = (layers: LayerView[], name: string): void => {
    layers.forEach((l, i) => {
      const at = `${path}.${name}[${i}]`;
      if (l.cells.length !== vm.tokens.length) throw new ProtocolError(`${l.cells.length} cells for ${vm.tokens.length} tokens`, `${at}.cells`);
      l.cells.forEach((c, j) => {
        if (!codes.has(c.nearest)) throw new ProtocolError(`unknown language ${JSON.stringify(c.nearest)}`, `${at}.cells[${j}].nearest`);
      });
      if (l.projection !== undefined && l.projection.tokens.length !== vm.tokens.length) throw new ProtocolError('one projected point per token expected', `${at}.projection.tokens`);
    });
  };
  checkLayers(vm.layers, 'layers');
  if (vm.steeredLayers !== undefined) {
    if (vm.steeredLayers.length !== vm.layers.length) throw new ProtocolError('as many steered layers as layers expected', `${path}.steeredLayers`);
    checkLayers(vm.steeredLayers, 'steeredLayers');
  }
  return vm;
};

// ---- derived facts (pure) ----------------------------------------------------------------------------

export interface CellChange {
  /** The nearest language moved (base nearest -> steered nearest). */
  changed: boolean;
  from: string;
  to: string;
  /** Steered minus base similarity to the base cell's nearest language. */
  delta: number;
  /** Steered minus base similarity to the steered cell's nearest language. */
  deltaTo: number;
}

/** What steering did to one cell. */
export function cellChange(base: HeatmapCell, steered: HeatmapCell): CellChange {
  return {
    changed: base.nearest !== steered.nearest,
    from: base.nearest,
    to: steered.nearest,
    delta: (steered.similarities[base.nearest] ?? steered.similarity) - base.similarity,
    deltaTo: steered.similarity - (base.similarities[steered.nearest] ?? base.similarity),
  };
}

/** Min and max of the nearest-language similarity over all cells (the colour scale's domain). */
export function similarityDomain(layerSets: (LayerView[] | undefined)[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const layers of layerSets) {
    for (const l of layers ?? []) {
      for (const c of l.cells) {
        lo = Math.min(lo, c.similarity);
        hi = Math.max(hi, c.similarity);
      }
    }
  }
  if (!Number.isFinite(lo)) return [0, 1];
  if (hi - lo < 1e-6) return [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** The language with the highest value in `scores` (first in `order` on ties). */
export function argmaxLanguage(scores: Record<string, number>, order: LanguageInfo[]): string | undefined {
  let best: string | undefined;
  let bestValue = -Infinity;
  for (const { code } of order) {
    const v = scores[code];
    if (v !== undefined && v > bestValue) {
      best = code;
      bestValue = v;
    }
  }
  return best;
}

export type DiffOp = { op: 'same' | 'added' | 'removed'; text: string };

/**
 * Token-level diff of two continuations (longest common subsequence, O(n·m) — continuations are at most a
 * few hundred tokens). Written by hand: the diff packages on npm diff characters/lines, not arbitrary tokens
 * with stable identity, and this is 25 lines.
 */
export function diffTokens(a: string[], b: string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as number[];
    const next = lcs[i + 1] as number[];
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
  }
  const out: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: 'same', text: a[i] as string });
      i++;
      j++;
    } else if ((lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0)) out.push({ op: 'removed', text: a[i++] as string });
    else out.push({ op: 'added', text: b[j++] as string });
  }
  while (i < n) out.push({ op: 'removed', text: a[i++] as string });
  while (j < m) out.push({ op: 'added', text: b[j++] as string });
  return out;
}

/** Makes whitespace inside a token visible (a leading space is the most common token boundary). */
export function visibleToken(text: string): string {
  return text.replace(/ /g, '\u00b7').replace(/\n/g, '\u21b5').replace(/\t/g, '\u2192');
}

// ---- building blocks for the host's mapping (engine result -> view model) ---------------------------
// Structurally typed, so the webview imports nothing from the engine: `TokenLanguage` of
// engine/analysis/similarity.ts ({ language, cosine, scores }) and the interleaved [x0, y0, x1, y1, ...]
// output of engine/analysis/projection2d.ts fit these directly.

/** One token's nearest language at one layer, as the engine's `nearestLanguagePerToken` gives it. */
export interface NearestLanguage {
  language: string;
  cosine: number;
  scores: Record<string, number>;
}

/** A heatmap row from the engine's per-token nearest languages at layer k; the prompt similarity is their mean. */
export function layerFromNearest(k: number, perToken: readonly NearestLanguage[], languages: readonly LanguageInfo[]): LayerView {
  const cells = perToken.map((t) => ({ nearest: t.language, similarity: t.cosine, similarities: { ...t.scores } }));
  const promptSimilarity: Record<string, number> = {};
  for (const { code } of languages) {
    const values = perToken.map((t) => t.scores[code]).filter((v): v is number => v !== undefined);
    if (values.length > 0) promptSimilarity[code] = values.reduce((a, b) => a + b, 0) / values.length;
  }
  return { k, cells, promptSimilarity };
}

/** Points from an interleaved [x0, y0, x1, y1, ...] array (what the engine's PCA projection returns). */
export function pointsFromInterleaved(xy: ArrayLike<number>): ProjectedPoint[] {
  const out: ProjectedPoint[] = [];
  for (let i = 0; i + 1 < xy.length; i += 2) out.push({ x: xy[i] as number, y: xy[i + 1] as number });
  return out;
}

/** A layer's 2-D picture: centroids (in `languages` order, as fitted) and token points; explained variance as ratios in [0, 1]. */
export function projectionFromPca(centroidsXY: ArrayLike<number>, tokensXY: ArrayLike<number>, languages: readonly LanguageInfo[], explainedRatio?: [number, number]): LayerProjection {
  const centroids = pointsFromInterleaved(centroidsXY).map((p, i) => ({ ...p, language: languages[i]?.code ?? String(i) }));
  const projection: LayerProjection = { centroids, tokens: pointsFromInterleaved(tokensXY) };
  if (explainedRatio !== undefined) projection.explained = [explainedRatio[0] * 100, explainedRatio[1] * 100];
  return projection;
}
