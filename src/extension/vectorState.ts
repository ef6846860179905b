/**
 * The steering vectors the user can toggle, and which are on: one source of truth shared by the panel's
 * toggles, the "Steering Vectors" tree view, the status bar, sessions and Steer Prompt itself.
 *
 * Free of `vscode` imports (events are plain listeners) so it is unit-tested in plain Node.
 *
 * Entries come from three places (`VectorOrigin`): the model's bundled `vectors/index.json`, vector files
 * in the workspace or imported by the user, and vectors computed in this window. Bundled entries are
 * replaced when the model changes; the others stay (the engine reports a clear error if a file does not
 * fit the model).
 */
import * as path from 'node:path';
import type { SteerPositions, SteeringSpec } from '../protocol/engine';
import { STEER_POSITIONS } from '../protocol/engine';
import type { VectorOrigin, VectorView } from '../webview/viewModel';

export interface VectorEntry {
  /** Stable id: `bundled:fr-en`, `file:/abs/x.safetensors`, `computed:fr-en-2`. */
  id: string;
  /** Short label, e.g. `fr-en`. */
  name: string;
  origin: VectorOrigin;
  /** What SteeringSpec.vector gets: the bundled name, or an absolute file path. */
  ref: string;
  source: string;
  target: string;
  method?: string;
  enabled: boolean;
  layer: number;
  strength: number;
  positions: SteerPositions;
  /** The (layer, strength) the vector came with (a sweep's choice for bundled ones): "reset" goes back to it. */
  defaultLayer: number;
  defaultStrength: number;
}

/** What a vector index entry looks like to the host (a subset of the engine's VectorIndexEntry). */
export interface IndexEntryLike {
  source: string;
  target: string;
  method?: string;
  layer: number;
  strength: number;
  positions?: string;
}

export type VectorPatch = Partial<Pick<VectorEntry, 'enabled' | 'layer' | 'strength' | 'positions'>>;

/** A session's view of the vectors: which are on and how (ids and settings only; files stay where they are). */
export interface VectorStateSnapshot {
  entries: Pick<VectorEntry, 'id' | 'name' | 'origin' | 'ref' | 'source' | 'target' | 'enabled' | 'layer' | 'strength' | 'positions'>[];
}

/** The engine's position names from an index's (`lastPrompt`) or a user's spelling. */
export function toSteerPositions(value: string | undefined): SteerPositions {
  if (value === 'lastPrompt') return 'last-prompt-token';
  return (STEER_POSITIONS as readonly string[]).includes(value ?? '') ? (value as SteerPositions) : 'all';
}

/** `fr-en` -> {fr, en}; anything else -> und/und (a user's own file may be named anything). */
export function languagesFromName(name: string): { source: string; target: string } {
  const m = /^([a-z]{2,3})[-_](?:to[-_])?([a-z]{2,3})\b/i.exec(name);
  return m ? { source: m[1]!.toLowerCase(), target: m[2]!.toLowerCase() } : { source: 'und', target: 'und' };
}

export class VectorState {
  private list: VectorEntry[] = [];
  private readonly listeners = new Set<() => void>();
  private numLayers = 0;

  /** Calls `listener` after every change; returns a disposable that removes it. */
  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Number of layers L of the current model (vectors can be applied at k = 0 .. L); 0 until a model is known. */
  get layerCount(): number {
    return this.numLayers;
  }

  entries(): readonly VectorEntry[] {
    return this.list;
  }

  get(id: string): VectorEntry | undefined {
    return this.list.find((e) => e.id === id);
  }

  active(): VectorEntry[] {
    return this.list.filter((e) => e.enabled);
  }

  /**
   * The model's bundled vectors (its index, or none). Keeps the user's on/off, layer and strength of a
   * bundled vector that still exists (e.g. when the same model is re-selected).
   */
  setBundled(index: Record<string, IndexEntryLike> | null, numLayers: number): void {
    this.numLayers = numLayers;
    const previous = new Map(this.list.filter((e) => e.origin === 'bundled').map((e) => [e.id, e]));
    const bundled: VectorEntry[] = Object.entries(index ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, entry]) => {
        const id = `bundled:${name}`;
        const old = previous.get(id);
        return {
          id,
          name,
          origin: 'bundled' as const,
          ref: name,
          source: entry.source,
          target: entry.target,
          ...(entry.method !== undefined ? { method: entry.method } : {}),
          enabled: old?.enabled ?? false,
          layer: this.clampLayer(old?.layer ?? entry.layer),
          strength: old?.strength ?? entry.strength,
          positions: old?.positions ?? toSteerPositions(entry.positions),
          defaultLayer: entry.layer,
          defaultStrength: entry.strength,
        };
      });
    this.list = [...bundled, ...this.list.filter((e) => e.origin !== 'bundled')];
    this.fire();
  }

  /** Adds (or replaces, by id) a vector file; returns its entry. */
  addFile(file: string, origin: 'workspace' | 'computed', settings: { layer: number; strength: number; positions?: SteerPositions; source?: string; target?: string; method?: string; enabled?: boolean }): VectorEntry {
    const abs = path.resolve(file);
    const name = path.basename(abs).replace(/\.(safetensors|gguf)$/i, '');
    const langs = settings.source !== undefined && settings.target !== undefined ? { source: settings.source, target: settings.target } : languagesFromName(name);
    const entry: VectorEntry = {
      id: `file:${abs}`,
      name,
      origin,
      ref: abs,
      ...langs,
      ...(settings.method !== undefined ? { method: settings.method } : {}),
      enabled: settings.enabled ?? false,
      layer: this.clampLayer(settings.layer),
      strength: settings.strength,
      positions: settings.positions ?? 'all',
      defaultLayer: settings.layer,
      defaultStrength: settings.strength,
    };
    const i = this.list.findIndex((e) => e.id === entry.id);
    if (i >= 0) this.list[i] = entry;
    else this.list.push(entry);
    this.fire();
    return entry;
  }

  /** Changes one vector; unknown ids are ignored (the panel may post for a vector that was just removed). Returns whether anything changed. */
  set(id: string, patch: VectorPatch): boolean {
    const entry = this.get(id);
    if (entry === undefined) return false;
    const next: VectorEntry = {
      ...entry,
      ...(patch.enabled !== undefined ? { enabled: patch.enabled } : {}),
      ...(patch.layer !== undefined ? { layer: this.clampLayer(patch.layer) } : {}),
      ...(patch.strength !== undefined && Number.isFinite(patch.strength) ? { strength: patch.strength } : {}),
      ...(patch.positions !== undefined ? { positions: patch.positions } : {}),
    };
    if (next.enabled === entry.enabled && next.layer === entry.layer && next.strength === entry.strength && next.positions === entry.positions) return false;
    this.list[this.list.indexOf(entry)] = next;
    this.fire();
    return true;
  }

  /** Turns every vector off. */
  disableAll(): void {
    if (!this.list.some((e) => e.enabled)) return;
    this.list = this.list.map((e) => ({ ...e, enabled: false }));
    this.fire();
  }

  /** Removes a non-bundled vector (bundled ones belong to the model). Returns whether it was removed. */
  remove(id: string): boolean {
    const i = this.list.findIndex((e) => e.id === id && e.origin !== 'bundled');
    if (i < 0) return false;
    this.list.splice(i, 1);
    this.fire();
    return true;
  }

  /** The enabled vectors as the engine's steering specs (summed per layer by the engine). */
  specs(): SteeringSpec[] {
    return this.active().map((e) => ({ vector: e.ref, layer: e.layer, strength: e.strength, positions: e.positions }));
  }

  /** The panel's vector toggles. */
  views(): VectorView[] {
    const layers = Array.from({ length: Math.max(1, this.numLayers + 1) }, (_, k) => k);
    return this.list.map((e) => ({
      id: e.id,
      name: e.name,
      origin: e.origin,
      source: e.source,
      target: e.target,
      ...(e.method !== undefined ? { method: e.method } : {}),
      enabled: e.enabled,
      layer: e.layer,
      layers,
      strength: e.strength,
      maxStrength: Math.max(4, Math.ceil(e.strength * 2)),
      positions: e.positions,
    }));
  }

  snapshot(): VectorStateSnapshot {
    return { entries: this.list.map(({ id, name, origin, ref, source, target, enabled, layer, strength, positions }) => ({ id, name, origin, ref, source, target, enabled, layer, strength, positions })) };
  }

  /**
   * Applies a saved session: bundled vectors that exist get the saved settings; saved files are re-added
   * (whether the file still exists is the caller's check). Returns the ids it could not place.
   */
  restore(snapshot: VectorStateSnapshot): string[] {
    const missing: string[] = [];
    for (const saved of snapshot.entries) {
      if (saved.origin === 'bundled') {
        if (this.get(saved.id) === undefined) missing.push(saved.id);
        else this.setQuiet(saved.id, saved);
      } else {
        this.addFileQuiet(saved);
      }
    }
    this.fire();
    return missing;
  }

  private setQuiet(id: string, saved: VectorStateSnapshot['entries'][number]): void {
    const i = this.list.findIndex((e) => e.id === id);
    const e = this.list[i]!;
    this.list[i] = { ...e, enabled: saved.enabled, layer: this.clampLayer(saved.layer), strength: saved.strength, positions: saved.positions };
  }

  private addFileQuiet(saved: VectorStateSnapshot['entries'][number]): void {
    const entry: VectorEntry = { ...saved, layer: this.clampLayer(saved.layer), defaultLayer: saved.layer, defaultStrength: saved.strength };
    const i = this.list.findIndex((e) => e.id === saved.id);
    if (i >= 0) this.list[i] = entry;
    else this.list.push(entry);
  }

  private clampLayer(k: number): number {
    if (this.numLayers <= 0) return Math.max(0, Math.round(k));
    return Math.min(this.numLayers, Math.max(0, Math.round(k)));
  }

  private fire(): void {
    for (const l of [...this.listeners]) l();
  }
}
