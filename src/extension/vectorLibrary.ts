/**
 * Remembers the vector files of a workspace (computed or imported) across windows: their entries (file, layer,
 * strength, on/off) are saved in the workspace state and put back into the VectorState at activation. Files
 * inside an untrusted workspace are held back, with a message that says why, until trust is granted; files that
 * no longer exist are dropped (and logged).
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LensServices } from './services';
import { explainUntrusted, heldBackByTrust, whenTrusted } from './trust';
import type { VectorStateSnapshot } from './vectorState';

const STATE_KEY = 'polyglotLens.vectorFiles';

type SavedEntry = VectorStateSnapshot['entries'][number];

function isSavedEntry(v: unknown): v is SavedEntry {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e['id'] === 'string' &&
    typeof e['name'] === 'string' &&
    (e['origin'] === 'workspace' || e['origin'] === 'computed') &&
    typeof e['ref'] === 'string' &&
    typeof e['source'] === 'string' &&
    typeof e['target'] === 'string' &&
    typeof e['enabled'] === 'boolean' &&
    Number.isInteger(e['layer']) &&
    typeof e['strength'] === 'number' &&
    Number.isFinite(e['strength']) &&
    ['all', 'prompt', 'generated', 'last-prompt-token'].includes(String(e['positions']))
  );
}

export function registerVectorLibrary(context: vscode.ExtensionContext, services: LensServices): void {
  const saved = context.workspaceState.get<unknown>(STATE_KEY);
  const entries = (Array.isArray(saved) ? saved : []).filter(isSavedEntry);
  const present = entries.filter((e) => {
    if (existsSync(e.ref)) return true;
    services.log.warn(`vector ${e.name}: ${e.ref} no longer exists; dropped from the list`);
    return false;
  });
  const held = present.filter((e) => heldBackByTrust(e.ref));
  const ready = present.filter((e) => !heldBackByTrust(e.ref));
  if (ready.length > 0) services.vectors.restore({ entries: ready });
  if (held.length > 0) {
    void explainUntrusted(vscode.l10n.t('{0} steering vector file(s) of this workspace ({1})', held.length, held.map((e) => path.basename(e.ref)).join(', ')));
    context.subscriptions.push(whenTrusted(() => void services.vectors.restore({ entries: held })));
  }

  // Save the file entries whenever the state changes; the held-back ones are kept until they are loaded.
  let timer: NodeJS.Timeout | undefined;
  const save = (): void => {
    const files = services.vectors.snapshot().entries.filter((e) => e.origin !== 'bundled');
    const waiting = vscode.workspace.isTrusted ? [] : held.filter((h) => !files.some((f) => f.id === h.id));
    void context.workspaceState.update(STATE_KEY, [...files, ...waiting]);
  };
  const sub = services.vectors.onDidChange(() => {
    clearTimeout(timer);
    timer = setTimeout(save, 300);
  });
  context.subscriptions.push({
    dispose: () => {
      sub.dispose();
      if (timer !== undefined) {
        clearTimeout(timer);
        save();
      }
    },
  });
}
