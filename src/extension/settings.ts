/**
 * Reads the polyglotLens.* settings into a typed object. Pure resolution rules live in
 * {@link resolveModelDir} so they are unit-tested without an editor.
 */
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { EXECUTION_PROVIDERS, STEER_POSITIONS, type ExecutionProviderName, type SteeringSpec } from '../protocol/engine';
import type { PromptScope } from './prompt';

export interface LensSettings {
  /** Raw setting; empty = bundled demo model. */
  modelPath: string;
  threads: number;
  promptScope: PromptScope;
  topK: number;
  /** Active steering vectors (invalid entries are dropped). */
  steeringVectors: SteeringSpec[];
  /** 0 = no continuations. */
  maxNewTokens: number;
  temperature: number;
  seed: number;
  executionProviders: ExecutionProviderName[];
}

export const BUNDLED_MODEL_RELATIVE = path.join('models', 'tiny-polyglot');

function clampInt(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, Math.round(value))) : fallback;
}

export function readSettings(config: vscode.WorkspaceConfiguration): LensSettings {
  const scope = config.get<unknown>('promptScope');
  const modelPath = config.get<unknown>('modelPath');
  return {
    modelPath: typeof modelPath === 'string' ? modelPath.trim() : '',
    threads: clampInt(config.get<unknown>('threads'), 0, 64, 0),
    promptScope: scope === 'paragraph' || scope === 'line' ? scope : 'auto',
    topK: clampInt(config.get<unknown>('topK'), 1, 50, 5),
    steeringVectors: readVectors(config.get<unknown>('steeringVectors')),
    maxNewTokens: clampInt(config.get<unknown>('maxNewTokens'), 0, 512, 24),
    temperature: clampNumber(config.get<unknown>('temperature'), 0, 10, 0.7),
    seed: clampInt(config.get<unknown>('seed'), 0, 2 ** 32 - 1, 0),
    executionProviders: readProviders(config.get<unknown>('executionProviders')),
  };
}

function clampNumber(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.min(max, Math.max(min, value)) : fallback;
}

function readVectors(value: unknown): SteeringSpec[] {
  if (!Array.isArray(value)) return [];
  const out: SteeringSpec[] = [];
  for (const v of value.slice(0, 16)) {
    if (typeof v !== 'object' || v === null) continue;
    const r = v as Record<string, unknown>;
    if (typeof r['vector'] !== 'string' || r['vector'].trim() === '') continue;
    const spec: SteeringSpec = { vector: r['vector'].trim() };
    if (typeof r['layer'] === 'number' && Number.isInteger(r['layer']) && r['layer'] >= 0) spec.layer = r['layer'];
    if (typeof r['strength'] === 'number' && Number.isFinite(r['strength'])) spec.strength = Math.min(1000, Math.max(-1000, r['strength']));
    if (typeof r['positions'] === 'string' && (STEER_POSITIONS as readonly string[]).includes(r['positions'])) spec.positions = r['positions'] as SteeringSpec['positions'];
    out.push(spec);
  }
  return out;
}

function readProviders(value: unknown): ExecutionProviderName[] {
  if (!Array.isArray(value)) return ['cpu'];
  const out = value.filter((p): p is ExecutionProviderName => typeof p === 'string' && (EXECUTION_PROVIDERS as readonly string[]).includes(p));
  return out.length > 0 ? out : ['cpu'];
}

/**
 * The model folder to use: the bundled model when the setting is empty; `~` expanded; a relative path
 * resolved against the first workspace folder (or, without one, the extension folder).
 */
export function resolveModelDir(modelPath: string, options: { extensionDir: string; workspaceDir: string | undefined; homeDir: string }): string {
  if (modelPath === '') return path.join(options.extensionDir, BUNDLED_MODEL_RELATIVE);
  let p = modelPath;
  if (p === '~' || p.startsWith('~/') || p.startsWith('~\\')) p = path.join(options.homeDir, p.slice(1));
  if (path.isAbsolute(p)) return path.normalize(p);
  return path.resolve(options.workspaceDir ?? options.extensionDir, p);
}
