/**
 * Reads the polyglotLens.* settings into a typed object. Pure resolution rules live in
 * {@link resolveModelDir} so they are unit-tested without an editor.
 */
import * as path from 'node:path';
import type * as vscode from 'vscode';
import type { PromptScope } from './prompt';

export interface LensSettings {
  /** Raw setting; empty = bundled demo model. */
  modelPath: string;
  threads: number;
  promptScope: PromptScope;
  topK: number;
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
    promptScope: scope === 'paragraph' ? 'paragraph' : 'line',
    topK: clampInt(config.get<unknown>('topK'), 1, 50, 5),
  };
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
