/**
 * One opened model serving the protocol's requests: analysis (tokens, per-layer hidden-state norms,
 * similarity to the model's stored language centroids, steered variant, base + steered continuations),
 * streamed generation and the logit lens. Shared by the engine worker (EngineService) and the CLI, so both
 * compute exactly the same thing.
 *
 * Caching: results are cached per prompt + vector set (+ generation settings for continuations) inside the
 * runtime, which itself is cached per model folder + ONNX file identity + session settings: toggling a
 * vector recomputes only the steered parts, re-running an unchanged request recomputes nothing.
 */
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCentroids, type LanguageCentroids } from './analysis/centroids';
import { fitLayerPlane, projectOnLayerPlane, type LayerPlane } from './analysis/layerProjection';
import { matrix } from './analysis/matrix';
import { fastTextLanguageIdentifier, type LanguageIdentifier } from './analysis/metrics';
import { centroidMean, nearestLanguagePerToken } from './analysis/similarity';
import { Lru } from './lru';
import { defaultCacheDir } from './model/cache';
import { generate, type GenerateResult } from './model/generate';
import type { LensTopK } from './model/logitLens';
import { openModel, type OpenedModel } from './model/openModel';
import type { ExecutionProvider, SessionSettings } from './model/session';
import type { SteeringPlan } from './model/steering';
import { StreamingDecoder } from './model/tokenizer';
import { readVectorIndex, resolveVector, steeringPlanFor, VECTOR_FOLDER, type VectorIndex } from './steering/library';
import { checkVectorCompatibility, type ActiveVector, type PositionMode } from './steering/vector';
import { EngineError } from '../protocol/errors';
import type {
  AppliedVector,
  Continuation,
  GenerationResult,
  GenerationSpec,
  InspectOptions,
  LanguageCentroidInfo,
  LayerAnalysis,
  LayerProjection,
  LensCandidate,
  LogitLensResult,
  ModelSummary,
  NextTokenCandidate,
  ProgressEvent,
  PromptAnalysis,
  PromptInspection,
  SteeringSpec,
  SteerPositions,
  TokenInfo,
} from '../protocol/engine';
import { MODEL_SETTING_HINT } from './engineErrors';

/** How to open a model: threads (0 = engine default), execution providers, surgery cache folder. */
export interface RuntimeOptions {
  threads: number;
  executionProviders?: ExecutionProvider[];
  cacheDir?: string;
  /** Labels continuations with their language; default: fastText lid.176 (the copy shipped in dist/ when there is one). */
  languageIdentifier?: () => Promise<LanguageIdentifier>;
}

/** Cancellation and progress of one request. */
export interface RequestContext {
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

interface ForwardEntry {
  /** The cache key (prompt + vector set + centroids): inspections of this pass are cached under it. */
  key: string;
  logitsLast: Float32Array;
  hiddenStates: Float32Array[];
  layers: LayerAnalysis[];
  inferenceMs: number;
}

interface ResolvedSteering {
  key: string;
  plan: SteeringPlan | null;
  applied: AppliedVector[];
  warnings: string[];
}

const CACHE_ENTRIES = 16;
/** Logit-lens rows per ORT run are capped so that rows × vocabulary float32 logits stay under 64 MiB. */
const LENS_LOGITS_BUDGET = 2 ** 24;
/** The language of a continuation fastText cannot label (empty text, or identification unavailable). */
const UNDETERMINED = 'und';
const POSITION_TO_PROTOCOL: Record<PositionMode, SteerPositions> = { all: 'all', prompt: 'prompt', generated: 'generated', lastPrompt: 'last-prompt-token' };
const PROTOCOL_TO_POSITION: Record<SteerPositions, PositionMode> = { all: 'all', prompt: 'prompt', generated: 'generated', 'last-prompt-token': 'lastPrompt' };

/** Throws CANCELLED when the request's signal has fired. */
function checkCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new EngineError('CANCELLED', 'Cancelled by a newer request.');
}

/** Session settings for runtime options: sessions never spin (three live side by side in one worker). */
export function sessionSettingsFor(options: RuntimeOptions): SessionSettings {
  return {
    coexisting: true,
    ...(options.threads > 0 ? { intraOpNumThreads: options.threads } : {}),
    ...(options.executionProviders && options.executionProviders.length > 0 ? { executionProviders: options.executionProviders } : {}),
  };
}

/** A cache key for a model folder: the folder, the ONNX file's size and mtime, and the session settings. */
export function runtimeKey(dir: string, options: RuntimeOptions): string {
  const files = ['model.onnx', 'config.json', 'tokenizer.json'].map((f) => {
    const p = path.join(dir, f);
    if (!existsSync(p)) return null;
    const s = statSync(p);
    return [f, s.size, s.mtimeMs];
  });
  return JSON.stringify([path.resolve(dir), options.threads, options.executionProviders ?? ['cpu'], files]);
}

export class ModelRuntime {
  /** Forward passes over a prompt (base or steered), by prompt + vector set. */
  private readonly forwards = new Lru<string, ForwardEntry>(CACHE_ENTRIES);
  /** Finished continuations, by prompt + vector set + generation settings. */
  private readonly continuations = new Lru<string, Continuation>(CACHE_ENTRIES);
  /** Inspections (logit lens at every position, projections), by forward pass + inspect options. */
  private readonly inspections = new Lru<string, PromptInspection>(CACHE_ENTRIES);
  /** Per-layer PCA planes of the centroids (they do not depend on the prompt), fitted on first use. */
  private readonly planes = new WeakMap<LanguageCentroids, Map<number, LayerPlane | null>>();
  /** Decoded single tokens (the lens decodes thousands, mostly the same few hundred). */
  private readonly tokenTexts = new Map<number, string>();
  /** The language identifier, loaded on the first continuation; a failure is kept (it will not fix itself). */
  private lid: Promise<{ identifier: LanguageIdentifier } | { warning: string }> | undefined;
  private centroids: Promise<{ centroids: LanguageCentroids; info: LanguageCentroidInfo; warning: string | null } | null> | undefined;
  private vectorIndex: Promise<VectorIndex | null> | undefined;
  /** Forward passes run so far (tests check that the cache avoids them). */
  forwardRuns = 0;

  private constructor(
    readonly model: OpenedModel,
    readonly loadMs: number,
    private readonly languageIdentifier: () => Promise<LanguageIdentifier> = () => fastTextLanguageIdentifier(),
  ) {}

  /** Opens (surgers on first use, then reuses the cached graphs) a model folder. */
  static async open(dir: string, options: RuntimeOptions): Promise<ModelRuntime> {
    const abs = path.resolve(dir);
    if (!existsSync(abs)) throw new EngineError('MODEL_NOT_FOUND', `Model folder not found: ${abs}`, MODEL_SETTING_HINT);
    if (!statSync(abs).isDirectory()) throw new EngineError('MODEL_NOT_FOUND', `Not a folder: ${abs}`, MODEL_SETTING_HINT);
    const started = performance.now();
    const model = await openModel(abs, { cacheDir: options.cacheDir, session: sessionSettingsFor(options) });
    return new ModelRuntime(model, performance.now() - started, options.languageIdentifier);
  }

  get numLayers(): number {
    return this.model.numLayers;
  }

  /** What the UI shows about the model. */
  async summary(): Promise<ModelSummary> {
    const m = this.model;
    const cfg = m.folder.config;
    const raw = m.folder.rawConfig['_name_or_path'];
    const index = await this.index();
    return {
      dir: m.folder.dir,
      name: typeof raw === 'string' && raw !== '' ? raw : path.basename(m.folder.dir),
      architecture: cfg.modelType ?? 'unknown',
      hiddenSize: m.hiddenSize,
      numLayers: m.numLayers,
      vocabSize: cfg.vocabSize ?? m.folder.tokenizer.vocabSize,
      inputNames: [...m.inspect.session.inputNames].filter((n) => !n.startsWith('steer.')),
      outputNames: [...m.inspect.session.outputNames].filter((n) => !n.startsWith('hidden_states.')),
      modelHash: m.prepared.modelSha256,
      vectorNames: index ? Object.keys(index.vectors).sort() : [],
    };
  }

  /** The prompt's token ids (BOS added as the tokenizer config says) and their pieces and texts. */
  tokenize(prompt: string): { ids: number[]; tokens: TokenInfo[] } {
    if (prompt.trim() === '') throw new EngineError('PROMPT_EMPTY', 'The prompt is empty.', 'Put the cursor on a line with text, or select a prompt.');
    const tok = this.model.folder.tokenizer;
    const { ids } = tok.encode(prompt);
    const max = this.model.folder.config.maxPositionEmbeddings;
    if (max !== null && ids.length > max) {
      throw new EngineError('PROMPT_TOO_LONG', `The prompt has ${ids.length} tokens; this model reads at most ${max}.`, 'Select a shorter prompt.');
    }
    if (ids.length === 0) throw new EngineError('PROMPT_EMPTY', 'The prompt has no tokens.', 'Put the cursor on a line with text, or select a prompt.');
    const special = new Set([tok.bosTokenId, tok.eosTokenId].filter((x): x is number => x !== null));
    // Each token's text is the growth of the decoded prefix, so multi-byte characters split across tokens
    // read as '' for their first part and the whole character for the last (the pieces spell out the prompt).
    const tokens: TokenInfo[] = [];
    const content: number[] = [];
    let previous = '';
    for (const id of ids) {
      const piece = tok.idToToken(id) ?? '';
      if (special.has(id) && content.length === 0) {
        tokens.push({ id, piece, text: '', special: true });
        continue;
      }
      content.push(id);
      const text = tok.decode(content, { skipSpecialTokens: true });
      const stable = text.endsWith('\uFFFD') ? previous : text;
      tokens.push({ id, piece, text: stable.startsWith(previous) ? stable.slice(previous.length) : stable });
      previous = stable;
    }
    return { ids, tokens };
  }

  /** Tokens, per-layer norms and language similarities, next tokens; steered variant, continuations and inspection on request. */
  async analyze(
    prompt: string,
    options: { topK: number; vectors?: readonly SteeringSpec[]; generation?: GenerationSpec; inspect?: InspectOptions } & RequestContext,
  ): Promise<PromptAnalysis> {
    const t0 = performance.now();
    const { ids, tokens } = this.tokenize(prompt);
    const tokenizeMs = performance.now() - t0;
    const steering = await this.resolveSteering(options.vectors ?? []);
    const centroids = await this.loadCentroidsOnce();
    const warnings = [...steering.warnings, ...(centroids?.warning ? [centroids.warning] : [])];
    let inferenceMs = 0;

    options.onProgress?.({ kind: 'stage', stage: 'forward' });
    const base = await this.forward(prompt, ids, null, centroids?.centroids ?? null);
    inferenceMs += base.inferenceMs;
    checkCancelled(options.signal);
    let inspectionMs = 0;
    const inspect = async (entry: ForwardEntry, spec: InspectOptions): Promise<PromptInspection> => {
      const i0 = performance.now();
      const result = await this.inspection(entry, spec, centroids?.centroids ?? null);
      inspectionMs += performance.now() - i0;
      checkCancelled(options.signal);
      return result;
    };
    const inspection = options.inspect ? await inspect(base, options.inspect) : undefined;

    let steered: PromptAnalysis['steered'] = null;
    if (steering.plan) {
      options.onProgress?.({ kind: 'stage', stage: 'steered-forward' });
      const s = await this.forward(prompt, ids, steering, centroids?.centroids ?? null);
      inferenceMs += s.inferenceMs;
      steered = { vectors: steering.applied, layers: s.layers, nextTokens: this.candidates(s.logitsLast, options.topK) };
      checkCancelled(options.signal);
      if (options.inspect) steered.inspection = await inspect(s, options.inspect);
    }

    let continuations: PromptAnalysis['continuations'] = null;
    let generationMs: number | undefined;
    if (options.generation) {
      const g0 = performance.now();
      options.onProgress?.({ kind: 'stage', stage: 'generating-base' });
      const baseText = await this.continuation(prompt, ids, null, options.generation, 'base', options);
      let steeredText: Continuation | null = null;
      if (steering.plan) {
        options.onProgress?.({ kind: 'stage', stage: 'generating-steered' });
        steeredText = await this.continuation(prompt, ids, steering, options.generation, 'steered', options);
      }
      continuations = { base: baseText, steered: steeredText };
      generationMs = performance.now() - g0;
      const lid = await this.lidOnce();
      if ('warning' in lid) warnings.push(lid.warning);
    }

    return {
      prompt,
      tokens,
      nextTokens: this.candidates(base.logitsLast, options.topK),
      model: await this.summary(),
      timings: { loadMs: 0, tokenizeMs, inferenceMs, ...(generationMs !== undefined ? { generationMs } : {}), ...(options.inspect ? { inspectionMs } : {}) },
      layers: base.layers,
      centroids: centroids?.info ?? null,
      steered,
      continuations,
      ...(inspection ? { inspection } : {}),
      warnings,
    };
  }

  /** One continuation (steered when vectors are given), its tokens streamed as progress events. */
  async generate(prompt: string, vectors: readonly SteeringSpec[], generation: GenerationSpec, context: RequestContext = {}): Promise<GenerationResult> {
    const { ids } = this.tokenize(prompt);
    const steering = await this.resolveSteering(vectors);
    const g0 = performance.now();
    const continuation = await this.continuation(prompt, ids, steering.plan ? steering : null, generation, steering.plan ? 'steered' : 'base', context, false);
    const generationMs = performance.now() - g0;
    const lid = await this.lidOnce();
    const warnings = [...steering.warnings, ...('warning' in lid ? [lid.warning] : [])];
    return { prompt, promptTokens: ids.length, vectors: steering.applied, continuation, timings: { loadMs: 0, generationMs }, ...(warnings.length > 0 ? { warnings } : {}) };
  }

  /** Top-k next tokens read from every layer's hidden state at one position (the model's own final norm + unembedding). */
  async logitLens(prompt: string, options: { position?: number; topK: number; vectors?: readonly SteeringSpec[] }): Promise<LogitLensResult> {
    const { ids, tokens } = this.tokenize(prompt);
    const position = options.position ?? ids.length - 1;
    if (position >= ids.length) throw new EngineError('INVALID_REQUEST', `Position ${position} is outside the prompt's ${ids.length} tokens.`, `Give a position in 0..${ids.length - 1}.`);
    const steering = await this.resolveSteering(options.vectors ?? []);
    const entry = await this.forward(prompt, ids, steering.plan ? steering : null, null);
    const rows = await this.model.lens.atPosition(entry.hiddenStates, position, options.topK);
    return { prompt, tokens, position, layers: rows.map((r, k) => ({ layer: k, candidates: this.lensCandidates(r) })) };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }

  // ---- internals --------------------------------------------------------------------------------------

  private index(): Promise<VectorIndex | null> {
    this.vectorIndex ??= readVectorIndex(this.model.folder.dir).catch(() => null);
    return this.vectorIndex;
  }

  /**
   * The model's language centroids: `<cache>/centroids/<sha256>.safetensors` (written by `polyglot-lens
   * extract`) or the bundled `vectors/centroids.safetensors` (`build-vectors`), preferring one built from this
   * exact ONNX file. Centroids of another checkpoint are used with a warning (similar, not equal, geometry).
   */
  private loadCentroidsOnce(): Promise<{ centroids: LanguageCentroids; info: LanguageCentroidInfo; warning: string | null } | null> {
    this.centroids ??= (async () => {
      const hash = this.model.prepared.modelSha256;
      const index = await this.index();
      const candidates = [path.join(defaultCacheDir(), 'centroids', `${hash}.safetensors`), path.join(this.model.folder.dir, VECTOR_FOLDER, index?.centroids ?? 'centroids.safetensors')];
      let fallback: { centroids: LanguageCentroids; file: string } | null = null;
      for (const file of candidates) {
        if (!existsSync(file)) continue;
        const c = await loadCentroids(file).catch(() => null);
        if (!c || c.hiddenSize !== this.model.hiddenSize) continue;
        if (c.modelHash === hash) return { centroids: c, info: { languages: c.languages, file, matchesModel: true }, warning: null };
        fallback ??= { centroids: c, file };
      }
      if (!fallback) return null;
      return {
        centroids: fallback.centroids,
        info: { languages: fallback.centroids.languages, file: fallback.file, matchesModel: false },
        warning: `The language centroids in ${fallback.file} were built for another checkpoint of this model; similarities are indicative. Rebuild them (npm run build-vectors, or polyglot-lens extract).`,
      };
    })();
    return this.centroids;
  }

  /** Resolves vector names/files, checks them against the model and composes them into one plan. */
  private async resolveSteering(specs: readonly SteeringSpec[]): Promise<ResolvedSteering> {
    if (specs.length === 0) return { key: '', plan: null, applied: [], warnings: [] };
    const dir = this.model.folder.dir;
    const hash = this.model.prepared.modelSha256;
    const active: ActiveVector[] = [];
    const warnings: string[] = [];
    const keyParts: unknown[] = [];
    for (const spec of specs) {
      const r = await resolveVector(dir, spec.vector);
      warnings.push(...r.warnings);
      // Vectors of another checkpoint of the same model are applied with a warning (the UI shows it);
      // hidden size, architecture and layer range must still match.
      checkVectorCompatibility(r.vector, { hiddenSize: this.model.hiddenSize, numLayers: this.model.numLayers, modelHash: hash, modelHint: this.model.folder.config.modelType ?? '' }, { label: `vector ${r.name}`, allowOtherModel: true });
      const vh = r.vector.metadata.modelHash;
      if (vh && vh !== hash) warnings.push(`Vector ${r.name} was extracted from another checkpoint (${vh.slice(0, 12)}…) of this model.`);
      const layer = spec.layer ?? r.entry?.layer;
      const strength = spec.strength ?? r.entry?.strength;
      const positions = spec.positions !== undefined ? PROTOCOL_TO_POSITION[spec.positions] : r.entry?.positions;
      active.push({ vector: r.vector, label: r.name, ...(layer !== undefined ? { layer } : {}), ...(strength !== undefined ? { strength } : {}), ...(positions !== undefined ? { positions } : {}) });
      const mtime = existsSync(r.file) ? statSync(r.file).mtimeMs : 0;
      keyParts.push([r.file, mtime, layer ?? null, strength ?? null, positions ?? null]);
    }
    const { plan, composed } = steeringPlanFor(active);
    const applied = composed.terms.map((t) => ({ name: t.label, layer: t.layer, strength: t.strength, positions: POSITION_TO_PROTOCOL[t.positions], offsetNorm: t.offsetNorm }));
    return { key: JSON.stringify(keyParts), plan, applied, warnings };
  }

  /** The language identifier, loaded once; a load failure becomes a warning (continuations are then 'und'). */
  private lidOnce(): Promise<{ identifier: LanguageIdentifier } | { warning: string }> {
    this.lid ??= this.languageIdentifier().then(
      (identifier) => ({ identifier }),
      (err: unknown) => ({ warning: `Language identification is unavailable (${err instanceof Error ? err.message : String(err)}); continuations are labelled 'und'.` }),
    );
    return this.lid;
  }

  /** The continuation's language by lid.176 ('und' for empty text, or when identification is unavailable or fails). */
  private async labelLanguage(text: string): Promise<{ language: string; confidence?: number }> {
    const lid = await this.lidOnce();
    if ('warning' in lid) return { language: UNDETERMINED };
    try {
      const best = (await lid.identifier.identify(text, 1))[0];
      return best ? { language: best.language, confidence: best.probability } : { language: UNDETERMINED };
    } catch {
      return { language: UNDETERMINED };
    }
  }

  /** Logit lens at every layer and prompt position, and the per-layer projections (cached per forward pass + options). */
  private async inspection(entry: ForwardEntry, spec: InspectOptions, centroids: LanguageCentroids | null): Promise<PromptInspection> {
    const key = JSON.stringify([entry.key, spec.lensTopK, spec.projection]);
    const cached = this.inspections.get(key);
    if (cached) return cached;
    const vocab = this.model.folder.config.vocabSize ?? this.model.folder.tokenizer.vocabSize;
    const rows = await this.model.lens.everyPosition(entry.hiddenStates, spec.lensTopK, Math.floor(LENS_LOGITS_BUDGET / Math.max(1, vocab)));
    const lens = rows.map((layer) => layer.map((r) => this.lensCandidates(r)));
    let projections: LayerProjection[] | null = null;
    if (spec.projection && centroids) {
      const H = this.model.hiddenSize;
      projections = [];
      entry.hiddenStates.forEach((h, k) => {
        const plane = this.layerPlane(centroids, k);
        if (!plane) return; // a centroid file may cover only some layers
        projections?.push({
          layer: k,
          explained: [round(plane.explained[0]), round(plane.explained[1])],
          centroids: plane.centroids.map((p) => ({ language: p.language, x: round(p.x), y: round(p.y) })),
          tokens: projectOnLayerPlane(plane, matrix(h, H)).map((p) => ({ x: round(p.x), y: round(p.y) })),
        });
      });
      if (projections.length === 0) projections = null;
    }
    const result: PromptInspection = { lens, projections };
    this.inspections.set(key, result);
    return result;
  }

  /** The fitted PCA plane of layer k's centroids (in the centroid file's language order), or null without centroids there. */
  private layerPlane(centroids: LanguageCentroids, k: number): LayerPlane | null {
    let byLayer = this.planes.get(centroids);
    if (!byLayer) {
      byLayer = new Map();
      this.planes.set(centroids, byLayer);
    }
    let plane = byLayer.get(k);
    if (plane === undefined) {
      const c = centroids.centroids.get(k);
      plane = c && c.size > 0 ? fitLayerPlane(new Map(centroids.languages.filter((l) => c.has(l)).map((l) => [l, c.get(l) as Float32Array] as const))) : null;
      byLayer.set(k, plane);
    }
    return plane;
  }

  /** Lens rows as protocol candidates: decoded text, logit, probability over the whole vocabulary. */
  private lensCandidates(r: LensTopK): LensCandidate[] {
    return r.ids.map((id, i) => ({ id, text: this.tokenText(id), logit: r.logits[i] ?? 0, probability: Math.exp(r.logProbs[i] ?? -Infinity) }));
  }

  private tokenText(id: number): string {
    let text = this.tokenTexts.get(id);
    if (text === undefined) {
      text = this.model.folder.tokenizer.decode([id]);
      this.tokenTexts.set(id, text);
    }
    return text;
  }

  /** One forward pass of the inspect session (cached): per-layer norms and language similarities. */
  private async forward(prompt: string, ids: number[], steering: ResolvedSteering | null, centroids: LanguageCentroids | null): Promise<ForwardEntry> {
    const key = JSON.stringify([prompt, steering?.key ?? '', centroids ? 'c' : '']);
    const cached = this.forwards.get(key);
    if (cached) return { ...cached, inferenceMs: 0 };
    const t0 = performance.now();
    this.forwardRuns++;
    const out = await this.model.inspect.forward(ids, { steering: steering?.plan ?? null });
    const inferenceMs = performance.now() - t0;
    const H = this.model.hiddenSize;
    const seq = ids.length;
    const hiddenStates = (out.hiddenStates ?? []).map((h) => h.slice()); // own copies: ORT's buffers are released
    const layers: LayerAnalysis[] = hiddenStates.map((h, k) => {
      const norms: number[] = [];
      for (let t = 0; t < seq; t++) {
        let s = 0;
        for (let j = 0; j < H; j++) {
          const x = h[t * H + j] as number;
          s += x * x;
        }
        norms.push(Math.sqrt(s));
      }
      const layer: LayerAnalysis = { layer: k, norms };
      const c = centroids?.centroids.get(k);
      if (centroids && c && c.size > 0) {
        const langs = centroids.languages.filter((l) => c.has(l));
        const ordered = new Map(langs.map((l) => [l, c.get(l) as Float32Array] as const));
        // Mean-centred cosine: every centroid shares a large common direction (the layer's mean state),
        // which would make every language look alike; subtracting it leaves what tells them apart.
        const nearest = nearestLanguagePerToken(matrix(h, H), ordered, centroidMean(ordered));
        layer.nearest = nearest.map((n) => n.language);
        layer.similarity = nearest.map((n) => centroids.languages.map((l) => round(n.scores[l] ?? 0)));
      }
      return layer;
    });
    const V = out.vocabSize;
    const logitsLast = out.logits.slice((seq - 1) * V, seq * V);
    const entry = { key, logitsLast, hiddenStates, layers, inferenceMs };
    this.forwards.set(key, entry);
    return entry;
  }

  /** A continuation (cached when it ran to the end); tokens are streamed through onProgress. */
  private async continuation(
    prompt: string,
    ids: number[],
    steering: ResolvedSteering | null,
    generation: GenerationSpec,
    stream: 'base' | 'steered',
    request: RequestContext,
    useCache = true,
  ): Promise<Continuation> {
    const key = JSON.stringify([prompt, steering?.key ?? '', generation]);
    const cached = useCache ? this.continuations.get(key) : undefined;
    if (cached) {
      // Replay the stream so a client that renders progress sees the same events.
      const replay = new StreamingDecoder(this.model.folder.tokenizer);
      cached.tokenIds.forEach((tokenId, index) => request.onProgress?.({ kind: 'token', stream, index, tokenId, text: replay.push(tokenId) }));
      return cached;
    }
    const tok = this.model.folder.tokenizer;
    const decoder = new StreamingDecoder(tok);
    // The context window bounds the continuation (a longer one would fail inside the model's attention).
    const context = this.model.folder.config.maxPositionEmbeddings;
    const maxNewTokens = context !== null ? Math.max(0, Math.min(generation.maxNewTokens, context - ids.length)) : generation.maxNewTokens;
    const result: GenerateResult = await generate(this.model.generator, ids, {
      maxNewTokens,
      stopTokenIds: this.model.folder.stopTokenIds,
      sampling: generation.temperature > 0 ? { temperature: generation.temperature, topP: generation.topP, ...(generation.topK ? { topK: generation.topK } : {}), seed: generation.seed } : null,
      steering: steering?.plan ?? null,
      signal: request.signal,
      onToken: ({ id, index }) => request.onProgress?.({ kind: 'token', stream, index, tokenId: id, text: decoder.push(id) }),
    });
    checkCancelled(request.signal);
    const text = tok.decode(result.tokenIds, { skipSpecialTokens: true });
    const c: Continuation = { text, tokenIds: result.tokenIds, stopReason: result.stopReason, ...(await this.labelLanguage(text)) };
    this.continuations.set(key, c);
    return c;
  }

  /** Top-k softmax candidates of a logits row. */
  private candidates(logits: Float32Array, k: number): NextTokenCandidate[] {
    let max = -Infinity;
    for (const x of logits) if (x > max) max = x;
    let z = 0;
    for (const x of logits) z += Math.exp(x - max);
    const order = Array.from(logits.keys()).sort((a, b) => (logits[b] as number) - (logits[a] as number) || a - b).slice(0, k);
    const tok = this.model.folder.tokenizer;
    return order.map((id) => ({ id, text: tok.decode([id]), logit: logits[id] as number, probability: Math.exp((logits[id] as number) - max) / z }));
  }
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
