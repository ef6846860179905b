/**
 * What the host needs to know about a model folder before (and without) running it: its name, its number
 * of layers (config.json) and its bundled steering vectors (vectors/index.json). Two small JSON reads, so
 * the tree view and the panel can list vectors right after activation; anything heavier is the worker's.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readVectorIndex } from '../engine/steering/library';
import type { SteeringSpec } from '../protocol/engine';
import type { IndexEntryLike, VectorState } from './vectorState';

export interface ModelInfo {
  dir: string;
  name: string;
  /** L: blocks of the decoder (vectors go at k = 0 .. L); 0 when config.json does not say. */
  numLayers: number;
  vectors: Record<string, IndexEntryLike>;
  /** Why the folder could not be read (the engine reports the details when it runs). */
  problem?: string;
}

/** Reads `dir`'s config.json and vector index; never throws (a broken folder is the engine's to explain). */
export async function readModelInfo(dir: string): Promise<ModelInfo> {
  const info: ModelInfo = { dir, name: path.basename(dir), numLayers: 0, vectors: {} };
  try {
    const config = JSON.parse(await fs.readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    const layers = config['num_hidden_layers'] ?? config['n_layer'] ?? config['num_layers'];
    if (typeof layers === 'number' && Number.isInteger(layers) && layers > 0) info.numLayers = layers;
    const name = config['_name_or_path'];
    if (typeof name === 'string' && name.trim() !== '' && !name.includes('/') && !name.includes('\\')) info.name = name.trim();
  } catch (err) {
    info.problem = err instanceof Error ? err.message : String(err);
  }
  try {
    info.vectors = (await readVectorIndex(dir))?.vectors ?? {};
  } catch (err) {
    info.problem ??= err instanceof Error ? err.message : String(err);
  }
  return info;
}

/**
 * Puts the `polyglotLens.steeringVectors` setting into the vector state: bundled names are switched on with
 * the setting's layer/strength; files are added (as workspace vectors) and switched on. Returns the names
 * the model does not have.
 */
export function applyVectorSettings(state: VectorState, specs: readonly SteeringSpec[], info: ModelInfo, baseDir: string): string[] {
  const unknown: string[] = [];
  for (const spec of specs) {
    const isFile = /\.(safetensors|gguf)$/i.test(spec.vector) || spec.vector.includes('/') || spec.vector.includes('\\');
    if (isFile) {
      const file = path.resolve(baseDir, spec.vector);
      const existing = state.get(`file:${file}`);
      if (existing !== undefined) state.set(existing.id, { enabled: true, ...pick(spec) });
      else state.addFile(file, 'workspace', { layer: spec.layer ?? Math.ceil(info.numLayers / 2), strength: spec.strength ?? 1, enabled: true, ...(spec.positions !== undefined ? { positions: spec.positions } : {}) });
    } else if (state.get(`bundled:${spec.vector}`) !== undefined) {
      state.set(`bundled:${spec.vector}`, { enabled: true, ...pick(spec) });
    } else {
      unknown.push(spec.vector);
    }
  }
  return unknown;
}

function pick(spec: SteeringSpec): { layer?: number; strength?: number; positions?: SteeringSpec['positions'] } {
  return {
    ...(spec.layer !== undefined ? { layer: spec.layer } : {}),
    ...(spec.strength !== undefined ? { strength: spec.strength } : {}),
    ...(spec.positions !== undefined ? { positions: spec.positions } : {}),
  };
}
