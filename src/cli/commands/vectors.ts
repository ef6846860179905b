/**
 * `steer`, `export` and `extract`: apply vectors (bundled names or files, composable) to a prompt, carry
 * them to other tools (GGUF for llama.cpp, native safetensors), and extract new ones from a parallel corpus.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { saveCentroids } from '../../engine/analysis/centroids';
import { readParallelCorpus } from '../../engine/corpus/parallel';
import { defaultCacheDir, generate, openModel, type OpenedModel } from '../../engine/model/index';
import { centroidsFromSteerStates, extractSteerStates, pivotStatesFor } from '../../engine/steering/bundle';
import { steeringVectorToGguf } from '../../engine/steering/gguf';
import { parsePositionMode, resolveVector, steeringPlanFor, type ResolvedVector } from '../../engine/steering/library';
import { EXTRACTION_METHODS, singleLayer, vectorFromStates, type ExtractionMethod } from '../../engine/steering/methods';
import { checkVectorCompatibility, STRENGTH_UNITS, type ActiveVector, type StrengthUnit } from '../../engine/steering/vector';
import { encodeSteeringVector, saveSteeringVector } from '../../engine/steering/vectorFile';
import { writeFileAtomic } from '../../engine/steering/atomicWrite';
import { bundledModelDir, CommandUsageError, numberOption, parseCommand, progressPrinter, required, runCommand, type Command, type CommandIo, languageIdentifier, openModelWithExtractor } from './common';

/** Checks a resolved vector against the opened model (hidden size, layers, hash, hint). */
export function checkAgainstModel(model: OpenedModel, r: ResolvedVector, allowOtherModel: boolean): void {
  checkVectorCompatibility(r.vector, { hiddenSize: model.hiddenSize, numLayers: model.numLayers, modelHash: model.prepared.modelSha256, modelHint: model.folder.config.modelType ?? '' }, { label: `vector ${r.name}`, allowOtherModel });
}

/** Per-vector list option: the i-th value, or the single value for all, or undefined. */
function nth(list: unknown, i: number): string | undefined {
  if (!Array.isArray(list) || list.length === 0) return undefined;
  return (list[i] ?? (list.length === 1 ? list[0] : undefined)) as string | undefined;
}

const STEER_USAGE = `Usage: polyglot-lens steer [--model DIR] --prompt TEXT --vector NAME|FILE [--vector ...]
                           [--layer K]... [--strength A]... [--positions MODE]... [--unit U]
                           [--max-tokens N] [--seed S] [--temperature T] [--top-p P] [--allow-other-model] [--json]
  Generates a continuation of TEXT without and with steering (same seed) and names the language of each
  (fastText lid.176). NAME is a bundled vector of the model (e.g. fr-en, en-fr: see models/<m>/vectors/index.json);
  FILE a .safetensors or .gguf vector. Several --vector flags compose (summed per layer); --layer, --strength,
  --positions given once apply to all, given per vector apply in order. Defaults: the vector's chosen layer and
  strength, positions all, unit activationNorm (strength × the layer's mean activation norm), 32 tokens,
  sampling at temperature 0.7, top-p 0.9, seed 0. MODE: all | prompt | generated | last-prompt-token.
  --json prints {prompt, base: {text, language}, steered: {text, language}, vector, layer, strength, ...}.`;

const steer: Command = {
  name: 'steer',
  summary: 'continue a prompt without and with steering vectors, and name the languages',
  usage: STEER_USAGE,
  run: (argv, io) =>
    runCommand(io, STEER_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        model: { type: 'string', short: 'm' },
        prompt: { type: 'string', short: 'p' },
        vector: { type: 'string', multiple: true },
        layer: { type: 'string', multiple: true },
        strength: { type: 'string', multiple: true },
        positions: { type: 'string', multiple: true },
        unit: { type: 'string' },
        'max-tokens': { type: 'string' },
        seed: { type: 'string' },
        temperature: { type: 'string' },
        'top-p': { type: 'string' },
        'allow-other-model': { type: 'boolean' },
        json: { type: 'boolean' },
      });
      if (help) return (io.out(STEER_USAGE), 0);
      const prompt = required(values, 'prompt', 'steer');
      const names = (values.vector as string[] | undefined) ?? [];
      if (names.length === 0) throw new CommandUsageError('steer needs --vector NAME|FILE');
      const unit = (values.unit as string | undefined) ?? 'activationNorm';
      if (!(STRENGTH_UNITS as readonly string[]).includes(unit)) throw new CommandUsageError(`--unit must be one of ${STRENGTH_UNITS.join(', ')}`);
      const maxTokens = numberOption(values, 'max-tokens', 32, 1, 512, true);
      const seed = numberOption(values, 'seed', 0, 0, 2 ** 31, true);
      const temperature = numberOption(values, 'temperature', 0.7, 0, 10);
      const topP = numberOption(values, 'top-p', 0.9, 0.01, 1);
      const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
      const model = await openModel(dir);
      try {
        const active: ActiveVector[] = [];
        const resolved: ResolvedVector[] = [];
        for (let i = 0; i < names.length; i++) {
          const r = await resolveVector(dir, names[i] as string);
          r.warnings.forEach((w) => io.err(`warning: ${w}`));
          checkAgainstModel(model, r, values['allow-other-model'] === true);
          const layer = nth(values.layer, i);
          const strength = nth(values.strength, i);
          const positions = nth(values.positions, i);
          if (layer !== undefined && !/^\d+$/.test(layer)) throw new CommandUsageError(`--layer must be a layer index 0..${model.numLayers}, got ${JSON.stringify(layer)}`);
          if (strength !== undefined && !Number.isFinite(Number(strength))) throw new CommandUsageError(`--strength must be a number, got ${JSON.stringify(strength)}`);
          active.push({
            vector: r.vector,
            label: r.name,
            ...(layer !== undefined ? { layer: Number(layer) } : {}),
            ...(strength !== undefined ? { strength: Number(strength), unit: unit as StrengthUnit } : values.unit !== undefined ? { unit: unit as StrengthUnit } : {}),
            ...(positions !== undefined ? { positions: parsePositionMode(positions) } : {}),
          });
          resolved.push(r);
        }
        const { plan, composed } = steeringPlanFor(active);
        const ids = model.folder.tokenizer.encode(prompt).ids;
        const sampling = { temperature, topP, seed };
        const stopTokenIds = model.folder.stopTokenIds;
        const base = await generate(model.generator, ids, { maxNewTokens: maxTokens, sampling, stopTokenIds });
        const steered = await generate(model.generator, ids, { maxNewTokens: maxTokens, sampling, stopTokenIds, steering: plan });
        const lid = await languageIdentifier();
        const describe = async (tokenIds: number[]): Promise<{ text: string; language: string | null; probability: number }> => {
          const text = tokenIds.length === 0 ? '' : model.folder.tokenizer.decode(tokenIds, { skipSpecialTokens: true });
          const g = (await lid.identify(text, 1))[0];
          return { text, language: g?.language ?? null, probability: Number((g?.probability ?? 0).toFixed(4)) };
        };
        const first = composed.terms[0];
        const result = {
          prompt,
          base: await describe(base.tokenIds),
          steered: await describe(steered.tokenIds),
          vector: resolved.length === 1 ? (resolved[0] as ResolvedVector).name : resolved.map((r) => r.name),
          layer: composed.terms.length === 1 ? first?.layer : composed.terms.map((t) => t.layer),
          strength: composed.terms.length === 1 ? first?.strength : composed.terms.map((t) => t.strength),
          unit: composed.terms.length === 1 ? first?.unit : composed.terms.map((t) => t.unit),
          positions: composed.terms.length === 1 ? first?.positions : composed.terms.map((t) => t.positions),
          terms: composed.terms,
          seed,
          maxTokens,
          temperature,
          topP,
        };
        if (values.json === true) io.out(JSON.stringify(result, null, 2));
        else {
          io.out(`prompt   ${prompt}`);
          for (const t of composed.terms) io.out(`vector   ${t.label} at layer ${t.layer}, strength ${t.strength} (${t.unit}), positions ${t.positions}, offset norm ${t.offsetNorm.toFixed(3)}`);
          io.out(`base     [${result.base.language ?? '?'}] ${result.base.text}`);
          io.out(`steered  [${result.steered.language ?? '?'}] ${result.steered.text}`);
        }
        return 0;
      } finally {
        await model.dispose();
      }
    }),
};

const EXPORT_USAGE = `Usage: polyglot-lens export [--model DIR] --vector NAME|FILE --format gguf|safetensors --out FILE
                            [--layer K | --all-layers] [--bake default|none|A] [--allow-other-model]
  Writes a vector for other tools. By default only the vector's chosen layer is written (what \`steer\` uses);
  --all-layers writes every layer. GGUF is llama.cpp's control-vector format: our layer k becomes direction.{k-1},
  layers 0 and 1 cannot be carried (dropped with a warning under --all-layers), and the chosen strength is baked
  in (--bake default) so that llama.cpp's scale 1 reproduces it. safetensors is the native format with metadata.`;

const exportCommand: Command = {
  name: 'export',
  summary: 'write a vector as a llama.cpp GGUF control vector or native safetensors',
  usage: EXPORT_USAGE,
  run: (argv, io) =>
    runCommand(io, EXPORT_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        model: { type: 'string', short: 'm' },
        vector: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string', short: 'o' },
        layer: { type: 'string' },
        'all-layers': { type: 'boolean' },
        bake: { type: 'string' },
        'allow-other-model': { type: 'boolean' },
        json: { type: 'boolean' },
      });
      if (help) return (io.out(EXPORT_USAGE), 0);
      const name = required(values, 'vector', 'export');
      const format = required(values, 'format', 'export');
      if (format !== 'gguf' && format !== 'safetensors') throw new CommandUsageError('--format must be gguf or safetensors');
      const out = path.resolve(required(values, 'out', 'export'));
      const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
      const r = await resolveVector(dir, name);
      r.warnings.forEach((w) => io.err(`warning: ${w}`));
      const cfg = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8').catch(() => '{}')) as { hidden_size?: number; num_hidden_layers?: number; model_type?: string };
      if (cfg.hidden_size) {
        checkVectorCompatibility(r.vector, { hiddenSize: cfg.hidden_size, ...(cfg.num_hidden_layers ? { numLayers: cfg.num_hidden_layers } : {}), modelHint: cfg.model_type ?? '' }, { label: `vector ${r.name}` });
      }
      let v = r.vector;
      const all = values['all-layers'] === true;
      const layerOpt = values.layer as string | undefined;
      if (!all) {
        const k = layerOpt !== undefined ? Number(layerOpt) : (v.metadata.defaultLayer ?? (v.directions.size === 1 ? [...v.directions.keys()][0] : undefined));
        if (k === undefined || !Number.isInteger(k)) throw new CommandUsageError(`vector ${r.name} has several layers and no chosen one: pass --layer K or --all-layers`);
        v = singleLayer(v, k, v.metadata.defaultLayer === k ? v.metadata.defaultStrength : v.metadata.defaultStrength);
      }
      await fs.mkdir(path.dirname(out), { recursive: true });
      let summary: Record<string, unknown>;
      if (format === 'gguf') {
        const bakeRaw = (values.bake as string | undefined) ?? 'default';
        const bake = bakeRaw === 'default' || bakeRaw === 'none' ? bakeRaw : Number(bakeRaw);
        if (typeof bake === 'number' && !Number.isFinite(bake)) throw new CommandUsageError('--bake must be default, none or a number');
        const res = steeringVectorToGguf(v, { bake, skipUnrepresentable: all });
        res.warnings.forEach((w) => io.err(`warning: ${w}`));
        await writeFileAtomic(out, res.bytes);
        summary = { out, format, layers: [...res.written.keys()], directions: [...res.written.values()].map((b) => `direction.${b}`), dropped: res.dropped, coefficients: Object.fromEntries(res.coefficients), bytes: res.bytes.length };
      } else {
        const bytes = encodeSteeringVector(v);
        await writeFileAtomic(out, bytes);
        summary = { out, format, layers: [...v.directions.keys()], bytes: bytes.length };
      }
      io.out(values.json === true ? JSON.stringify(summary, null, 2) : `wrote ${out} (${format}, layers ${(summary.layers as number[]).join(', ')})`);
      return 0;
    }),
};

const EXTRACT_USAGE = `Usage: polyglot-lens extract [--model DIR] --corpus FILE --languages xx[,yy...] [--pivot en]
                             [--method ${EXTRACTION_METHODS.join('|')}] [--pooling mean|last]
                             [--sentences N] [--batch-size N] [--both] [--out DIR] [--json]
  Extracts steering vectors at every layer from a parallel corpus (.jsonl/.tsv): for each language xx the vector
  xx→pivot (and pivot→xx with --both), written to DIR/xx-en.safetensors (default: <model>/vectors). Also stores
  the per-layer language centroids keyed by the model hash (<cache>/centroids/<sha256>.safetensors).
  Default method: diffmean (mean pivot state − mean xx state over the pairs, mean over content tokens).`;

const extract: Command = {
  name: 'extract',
  summary: 'extract steering vectors (every layer) and language centroids from a parallel corpus',
  usage: EXTRACT_USAGE,
  run: (argv, io) =>
    runCommand(io, EXTRACT_USAGE, async () => {
      const { values, help } = parseCommand(argv, {
        model: { type: 'string', short: 'm' },
        corpus: { type: 'string' },
        languages: { type: 'string' },
        pivot: { type: 'string' },
        method: { type: 'string' },
        pooling: { type: 'string' },
        sentences: { type: 'string' },
        'batch-size': { type: 'string' },
        both: { type: 'boolean' },
        out: { type: 'string', short: 'o' },
        json: { type: 'boolean' },
      });
      if (help) return (io.out(EXTRACT_USAGE), 0);
      const corpusFile = required(values, 'corpus', 'extract');
      const languages = required(values, 'languages', 'extract').split(',').map((s) => s.trim()).filter(Boolean);
      const pivot = (values.pivot as string | undefined) ?? 'en';
      const method = ((values.method as string | undefined) ?? 'diffmean') as ExtractionMethod;
      if (!(EXTRACTION_METHODS as readonly string[]).includes(method)) throw new CommandUsageError(`--method must be one of ${EXTRACTION_METHODS.join(', ')}`);
      const pooling = (values.pooling as string | undefined) ?? 'mean';
      if (pooling !== 'mean' && pooling !== 'last') throw new CommandUsageError('--pooling must be mean or last');
      const sentences = numberOption(values, 'sentences', 500, 2, 1e6, true);
      const batchSize = numberOption(values, 'batch-size', 16, 1, 256, true);
      const dir = path.resolve((values.model as string | undefined) ?? bundledModelDir());
      const outDir = path.resolve((values.out as string | undefined) ?? path.join(dir, 'vectors'));
      const corpus = await readParallelCorpus(corpusFile);
      const model = await openModelWithExtractor(dir);
      try {
        const states = await extractSteerStates(model, corpus, { pivot, languages, steerSentences: sentences, batchSize, pooling }, progressPrinter(io));
        const hash = model.prepared.modelSha256;
        const centroids = centroidsFromSteerStates(states, pivot, model.hiddenSize, hash);
        const centroidFile = path.join(defaultCacheDir(), 'centroids', `${hash}.safetensors`);
        await fs.mkdir(path.dirname(centroidFile), { recursive: true });
        await saveCentroids(centroidFile, centroids);
        await fs.mkdir(outDir, { recursive: true });
        const written: { name: string; file: string; pairs: number; norms: Record<number, number> }[] = [];
        for (const l of languages) {
          const { states: xs, rowIds } = states.byLanguage.get(l)!;
          const en = pivotStatesFor(states, rowIds);
          const dirs: [string, string, typeof xs, typeof en][] = [[l, pivot, xs, en]];
          if (values.both === true) dirs.push([pivot, l, en, xs]);
          for (const [source, target, s, t] of dirs) {
            const v = vectorFromStates(method, s, t, { sourceLanguage: source, targetLanguage: target, modelHash: hash, modelHint: model.folder.config.modelType ?? '', notes: `${method} from ${path.basename(corpusFile)} (${rowIds.length} pairs).` });
            const file = path.join(outDir, `${source}-${target}${method === 'diffmean' ? '' : `.${method}`}.safetensors`);
            await saveSteeringVector(file, v);
            written.push({ name: `${source}-${target}`, file, pairs: rowIds.length, norms: v.metadata.vectorNorms });
            io.err(`wrote ${file}`);
          }
        }
        const summary = { model: dir, modelHash: hash, method, pooling, centroids: centroidFile, vectors: written };
        io.out(values.json === true ? JSON.stringify(summary, null, 2) : `${written.length} vectors in ${outDir}; centroids in ${centroidFile}`);
        return 0;
      } finally {
        await model.dispose();
      }
    }),
};

/** The vector commands. */
export const VECTOR_COMMANDS: readonly Command[] = [steer, exportCommand, extract];

/** For tests: the usage texts. */
export type { CommandIo };
