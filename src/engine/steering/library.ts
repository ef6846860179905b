// Vectors by name: a model folder's `vectors/index.json` (written by `npm run build-vectors`) maps names
// such as `fr-en` to a native vector file and the (layer, strength) a sweep chose; a path to a .safetensors
// or .gguf file works everywhere a name does. Also turns active vectors into the model's SteeringPlan.

import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { SteerPositionMode, SteeringPlan } from '../model/steering.js';
import { writeFileAtomic } from './atomicWrite.js';
import { SteeringInputError, VectorFileError } from './errors.js';
import { loadSteeringVector } from './vectorFile.js';
import { composeSteering, type ActiveVector, type ComposedSteering, type PositionMode, type SteeringVector } from './vector.js';

/** Folder of a model's bundled vectors and its index file name. */
export const VECTOR_FOLDER = 'vectors';
export const VECTOR_INDEX = 'index.json';

/** One named vector in a model's index: file (relative to the vectors folder) and the chosen setting. */
export interface VectorIndexEntry {
  file: string;
  source: string;
  target: string;
  method: string;
  layer: number; // chosen k
  strength: number; // in units of the layer's mean activation norm
  positions: PositionMode;
  /** What the sweep measured on dev at the chosen setting (0–100 language control etc.), for reports. */
  dev?: Record<string, number>;
}

/** `vectors/index.json`: which model the vectors belong to and the named entries. */
export interface VectorIndex {
  format: 'polyglot-lens/vector-index';
  version: 1;
  modelHash: string;
  createdAt: string;
  centroids?: string; // file of the language centroids, relative to the vectors folder
  vectors: Record<string, VectorIndexEntry>;
}

/** Reads `<modelDir>/vectors/index.json`, or null when the model has none. */
export async function readVectorIndex(modelDir: string): Promise<VectorIndex | null> {
  const file = path.join(modelDir, VECTOR_FOLDER, VECTOR_INDEX);
  if (!existsSync(file)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new VectorFileError(file, `is not valid JSON (${err instanceof Error ? err.message : String(err)}).`, 'Rebuild it with `npm run build-vectors`.');
  }
  const idx = parsed as Partial<VectorIndex>;
  if (idx.format !== 'polyglot-lens/vector-index' || typeof idx.vectors !== 'object' || idx.vectors === null) {
    throw new VectorFileError(file, 'is not a Polyglot Lens vector index.', 'Rebuild it with `npm run build-vectors`.');
  }
  return idx as VectorIndex;
}

/** Writes the index atomically. */
export async function writeVectorIndex(modelDir: string, index: VectorIndex): Promise<void> {
  await fs.mkdir(path.join(modelDir, VECTOR_FOLDER), { recursive: true });
  await writeFileAtomic(path.join(modelDir, VECTOR_FOLDER, VECTOR_INDEX), JSON.stringify(index, null, 1) + '\n');
}

/** A vector resolved from a name or a file, with the index entry when it came by name. */
export interface ResolvedVector {
  name: string;
  file: string;
  vector: SteeringVector;
  entry: VectorIndexEntry | null;
  warnings: string[];
}

/** Loads a vector by bundled name (e.g. `fr-en`) or file path; unknown names list the available ones. */
export async function resolveVector(modelDir: string, nameOrFile: string): Promise<ResolvedVector> {
  const looksLikeFile = /\.(safetensors|gguf)$/i.test(nameOrFile) || nameOrFile.includes('/') || nameOrFile.includes(path.sep);
  if (looksLikeFile || existsSync(nameOrFile)) {
    if (!existsSync(nameOrFile)) throw new SteeringInputError(`Vector file ${nameOrFile} does not exist.`);
    const loaded = await loadSteeringVector(nameOrFile);
    return { name: path.basename(nameOrFile).replace(/\.(safetensors|gguf)$/i, ''), file: path.resolve(nameOrFile), vector: loaded.vector, entry: null, warnings: loaded.warnings };
  }
  const index = await readVectorIndex(modelDir);
  const entry = index?.vectors[nameOrFile];
  if (!index || !entry) {
    const names = index ? Object.keys(index.vectors).sort() : [];
    throw new SteeringInputError(
      names.length > 0
        ? `No vector named '${nameOrFile}' for the model in ${modelDir}. Bundled names: ${names.join(', ')}; or pass a .safetensors/.gguf file.`
        : `The model in ${modelDir} has no bundled vectors (no ${VECTOR_FOLDER}/${VECTOR_INDEX}); pass a vector file, or build them (\`npm run build-vectors\` for the demo model, \`polyglot-lens extract\` for yours).`,
    );
  }
  const file = path.join(modelDir, VECTOR_FOLDER, entry.file);
  const loaded = await loadSteeringVector(file);
  return { name: nameOrFile, file, vector: loaded.vector, entry, warnings: loaded.warnings };
}

const MODE_TO_MODEL: Readonly<Record<PositionMode, SteerPositionMode>> = { all: 'all', prompt: 'prompt', generated: 'generated', lastPrompt: 'last-prompt-token' };

/** Parses a position mode as typed on a command line (`all`, `prompt`, `generated`, `last-prompt-token`/`lastPrompt`). */
export function parsePositionMode(s: string): PositionMode {
  const m = s === 'last-prompt-token' || s === 'last' ? 'lastPrompt' : s;
  if (m in MODE_TO_MODEL) return m as PositionMode;
  throw new SteeringInputError(`Unknown position mode '${s}'; expected all, prompt, generated or last-prompt-token.`);
}

/** Composes active vectors (each its own layer, strength, unit and positions) into the model's SteeringPlan. */
export function steeringPlanFor(active: readonly ActiveVector[]): { plan: SteeringPlan; composed: ComposedSteering } {
  const composed = composeSteering(active);
  const vectors: { layer: number; vector: Float32Array; mode: SteerPositionMode }[] = [];
  for (const [k, byMode] of composed.layers) for (const [mode, v] of byMode) vectors.push({ layer: k, vector: v, mode: MODE_TO_MODEL[mode] });
  const modes = new Set(vectors.map((v) => v.mode));
  const planMode: SteerPositionMode = modes.size === 1 ? ([...modes][0] as SteerPositionMode) : 'all';
  return { plan: { mode: planMode, vectors }, composed };
}
