/**
 * Everything around the panel, registered in one call from activate(): the activity-bar views (Steering
 * Vectors, Layers), the status bar item, the vector commands (compute, evaluate, export, import), Select
 * Model…, sessions, and the workspace's remembered vector files. Registration loads no model and starts no
 * worker: the engine starts when a command needs it.
 */
import * as l10n from '@vscode/l10n';
import * as vscode from 'vscode';
import { registerLayersView, type LayersViewHandle } from './layersView';
import { registerModelCommands } from './modelCommands';
import { setDisplayLanguage } from './languageNames';
import type { LensServices } from './services';
import { registerSessionCommands } from './sessions';
import { registerStatusBar } from './statusBar';
import { registerVectorCommands } from './vectorCommands';
import { registerVectorLibrary } from './vectorLibrary';
import { registerVectorsView } from './vectorsView';

export type LensContributions = LayersViewHandle;

export function registerLensContributions(context: vscode.ExtensionContext, services: LensServices): LensContributions {
  // The vscode-free modules (viewItems, sweepChart) translate through @vscode/l10n: give it VS Code's bundle.
  if (vscode.l10n.bundle !== undefined) l10n.config({ contents: vscode.l10n.bundle });
  // Language names (tree views, the panel's legend) in the same display language.
  setDisplayLanguage(vscode.env.language);
  registerVectorLibrary(context, services);
  registerVectorsView(context, services);
  const layers = registerLayersView(context, services);
  registerStatusBar(context, services);
  registerVectorCommands(context, services);
  registerModelCommands(context, services);
  registerSessionCommands(context, services);
  return layers;
}
