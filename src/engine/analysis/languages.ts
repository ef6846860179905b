// How the model represents languages, layer by layer, on a multi-way parallel sample (METHOD.md,
// "Analysis"): language × layer similarity to the pivot (raw and mean-centred cosine), retrieval P@1,
// each token's nearest language against stored centroids, logit-lens language mass, and the cosine
// between the languages' DiffMean vectors.
//
// Token → language table (for the logit-lens mass), computed once per model and cached by model hash:
// each vocabulary token is decoded to text and trimmed; a token counts for language X when its text has at
// least 2 letters (or 1 Han/kana/Hangul character) and fastText lid.176 names X with probability ≥ 0.5;
// every other token (punctuation, digits, fragments lid.176 is unsure of) belongs to no language. Han-only
// tokens are assigned to zh or ja by lid.176 like any other. The mass of language X at layer k is the
// probability (logit lens) of the top-`lensTopK` next tokens whose table entry is X, averaged over positions.

import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { LogitLens } from '../model/logitLens.js';
import type { TextTokenizer } from '../model/tokenizer.js';
import { writeFileAtomic } from '../steering/atomicWrite.js';
import type { LanguageCentroids } from './centroids.js';
import { vectorCosineTable } from './directions.js';
import { AnalysisInputError } from './errors.js';
import { extractPooledStates, type ExtractionModel, type ProgressCallback } from './extract.js';
import { columnMean, type Matrix } from './matrix.js';
import type { LanguageIdentifier } from './metrics.js';
import { centroidMean, languageSimilarityByLayer, nearestLanguagePerToken, pooledMean, retrievalPrecisionAt1, type LanguageByLayerSimilarity } from './similarity.js';

/** Token id → language code ('' = none), with the rule's parameters. */
export interface TokenLanguageTable {
  modelHash: string;
  languages: string[]; // codes that occur, sorted
  byToken: string[]; // [vocab]
}

const LETTER = /\p{L}/gu;
const CJK = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]/u;

/** Builds (or loads from `cacheFile`) the token → language table of a tokenizer (rule in the module comment). */
export async function tokenLanguageTable(tokenizer: TextTokenizer, lid: LanguageIdentifier, modelHash: string, cacheFile?: string): Promise<TokenLanguageTable> {
  if (cacheFile && existsSync(cacheFile)) {
    const t = JSON.parse(await fs.readFile(cacheFile, 'utf8')) as TokenLanguageTable;
    if (t.modelHash === modelHash && Array.isArray(t.byToken)) return t;
  }
  const byToken: string[] = [];
  const seen = new Set<string>();
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const text = tokenizer.decode([id], { skipSpecialTokens: true }).trim();
    const letters = (text.match(LETTER) ?? []).length;
    let lang = '';
    if (letters >= 2 || CJK.test(text)) {
      const g = (await lid.identify(text, 1))[0];
      if (g && g.probability >= 0.5) lang = g.language;
    }
    byToken.push(lang);
    if (lang) seen.add(lang);
  }
  const table = { modelHash, languages: [...seen].sort(), byToken };
  if (cacheFile) {
    await fs.mkdir(path.dirname(cacheFile), { recursive: true });
    await writeFileAtomic(cacheFile, JSON.stringify(table));
  }
  return table;
}

/** Everything `analyzeLanguages` measures; arrays by layer follow `layers`. */
export interface LanguageAnalysis {
  pivot: string;
  languages: string[]; // non-pivot
  layers: number[];
  sentences: number; // multi-way rows used
  similarity: LanguageByLayerSimilarity; // raw cosine to the pivot
  similarityCentred: LanguageByLayerSimilarity; // mean-centred
  /** language → P@1 per layer (xx sentence → its pivot translation among all pivot sentences, centred cosine). */
  retrieval: Record<string, number[]>;
  /** language → share of its content tokens whose nearest centroid (centred cosine) is its own language, per layer; null without centroids. */
  tokenNearest: Record<string, number[]> | null;
  /** language → mean logit-lens probability mass on each table language per layer: mass[lang][layerIndex][tableLang]; null without lens/table. */
  lensMass: Record<string, Record<string, number>[]> | null;
  /** Cosine between the languages' xx→pivot DiffMean vectors at each layer: layer → {labels, values}. */
  vectorCosines: Record<number, { labels: string[]; values: number[][] }>;
}

/** Options of `analyzeLanguages`. */
export interface LanguageAnalysisOptions {
  pivot?: string; // default 'en'
  centroids?: LanguageCentroids | null;
  lens?: LogitLens | null;
  tokenTable?: TokenLanguageTable | null;
  lensTopK?: number; // default 100
  lensPositions?: number; // content positions per sentence sent through the lens; default 4 (the last ones)
  batchSize?: number;
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** Analyses multi-way rows (each row: language → text, all rows having every language in `languages` and the pivot). */
export async function analyzeLanguages(model: ExtractionModel, rows: readonly Record<string, string>[], languages: readonly string[], options: LanguageAnalysisOptions = {}): Promise<LanguageAnalysis> {
  const pivot = options.pivot ?? 'en';
  if (rows.length < 2) throw new AnalysisInputError(`Language analysis needs at least 2 multi-way rows with ${[pivot, ...languages].join(', ')}; got ${rows.length}.`);
  const all = [pivot, ...languages.filter((l) => l !== pivot)];
  const layers = Array.from({ length: model.numLayers + 1 }, (_, k) => k);
  const pooled = new Map<number, Map<string, Matrix>>(layers.map((k) => [k, new Map()]));
  const tokenHits = new Map<string, { hits: number[]; n: number }>();
  const lensAcc = new Map<string, { sums: Record<string, number>[]; n: number }>();
  const H = model.hiddenSize;
  const centroids = options.centroids ?? null;
  const centres = centroids ? new Map(layers.map((k) => [k, centroidMean(centroids.centroids.get(k) ?? new Map())])) : null;
  const lensJobs: { lang: string; rows: Float32Array; count: number }[] = [];
  for (const lang of all) {
    const hits = { hits: layers.map(() => 0), n: 0 };
    tokenHits.set(lang, hits);
    const p = await extractPooledStates(model, rows.map((r) => r[lang] as string), {
      layers,
      ...(options.batchSize ? { batchSize: options.batchSize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
      onTokens: (_i, ids, states) => {
        hits.n += ids.length;
        if (centroids && centres) {
          for (const k of layers) {
            const c = centroids.centroids.get(k);
            if (!c || c.size === 0) continue;
            const m: Matrix = { rows: ids.length, cols: H, data: states.get(k) as Float32Array };
            const res = nearestLanguagePerToken(m, c, centres.get(k));
            hits.hits[layers.indexOf(k)] = (hits.hits[layers.indexOf(k)] as number) + res.filter((t) => t.language === lang).length;
          }
        }
        if (options.lens && options.tokenTable) {
          const n = Math.min(options.lensPositions ?? 4, ids.length);
          const buf = new Float32Array(layers.length * n * H);
          layers.forEach((k, li) => {
            const s = states.get(k) as Float32Array;
            buf.set(s.subarray((ids.length - n) * H, ids.length * H), li * n * H);
          });
          lensJobs.push({ lang, rows: buf, count: n });
        }
      },
    });
    for (const k of layers) pooled.get(k)!.set(lang, p.states.get(k) as Matrix);
    options.onProgress?.(all.indexOf(lang) + 1, all.length, 'languages extracted');
  }
  const similarity = languageSimilarityByLayer(pooled, pivot);
  const similarityCentred = languageSimilarityByLayer(pooled, pivot, { meanCentred: true });
  const retrieval: Record<string, number[]> = {};
  for (const lang of all.slice(1)) {
    retrieval[lang] = layers.map((k) => {
      const byLang = pooled.get(k)!;
      return retrievalPrecisionAt1(byLang.get(lang)!, byLang.get(pivot)!, pooledMean([...byLang.values()])).precisionAt1;
    });
  }
  const tokenNearest = centroids ? Object.fromEntries(all.map((l) => [l, tokenHits.get(l)!.hits.map((h) => h / Math.max(1, tokenHits.get(l)!.n))])) : null;
  let lensMass: LanguageAnalysis['lensMass'] = null;
  if (options.lens && options.tokenTable) {
    const table = options.tokenTable;
    const K = options.lensTopK ?? 100;
    for (const job of lensJobs) {
      const top = await options.lens.topK(job.rows, K);
      let acc = lensAcc.get(job.lang);
      if (!acc) {
        acc = { sums: layers.map(() => ({})), n: 0 };
        lensAcc.set(job.lang, acc);
      }
      acc.n += job.count;
      layers.forEach((_k, li) => {
        const sums = acc.sums[li] as Record<string, number>;
        for (let p = 0; p < job.count; p++) {
          const t = top[li * job.count + p]!;
          t.ids.forEach((id, j) => {
            const l = table.byToken[id] ?? '';
            if (l) sums[l] = (sums[l] ?? 0) + Math.exp(t.logProbs[j] as number);
          });
        }
      });
    }
    lensMass = {};
    for (const [lang, acc] of lensAcc) lensMass[lang] = acc.sums.map((s) => Object.fromEntries(Object.entries(s).map(([l, v]) => [l, v / Math.max(1, acc.n)])));
  }
  const vectorCosines: LanguageAnalysis['vectorCosines'] = {};
  for (const k of layers) {
    const byLang = pooled.get(k)!;
    const en = columnMean(byLang.get(pivot)!);
    const vs = new Map<string, Float64Array>();
    for (const lang of all.slice(1)) {
      const m = columnMean(byLang.get(lang)!);
      vs.set(lang, en.map((x, j) => x - (m[j] as number)));
    }
    vectorCosines[k] = vectorCosineTable(vs);
  }
  return { pivot, languages: all.slice(1), layers, sentences: rows.length, similarity, similarityCentred, retrieval, tokenNearest, lensMass, vectorCosines };
}
