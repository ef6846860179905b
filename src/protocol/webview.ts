/**
 * Messages between the extension host (SteerPanel) and the panel's webview.
 *
 * The webview posts `ready` first; the host holds state until then (a message posted to a webview that
 * has not loaded its script yet is lost). The host then sends what the panel should show; the webview
 * renders it and posts user intents back. The webview never talks to the model.
 */
import { engineErrorInfo, type EngineErrorInfo } from './errors';
import { promptAnalysis, type PromptAnalysis } from './engine';
import { bool, discriminated, int, literal, nonNegativeInt, num, object, str, type Validator } from './validate';
import { panelViewModel, type PanelViewModel } from '../webview/viewModel';

/** Where the prompt came from, so the panel can say "line 3 of notes.txt". */
export interface PromptOrigin {
  kind: 'selection' | 'string' | 'paragraph' | 'line';
  /** File name without folders (the panel does not need more, and paths can be private). */
  fileName: string;
  /** 0-based line where the prompt starts. */
  line: number;
}

export interface AnalyzingMessage {
  type: 'analyzing';
  requestId: number;
  prompt: string;
  origin: PromptOrigin;
}

export interface AnalysisMessage {
  type: 'analysis';
  requestId: number;
  origin: PromptOrigin;
  analysis: PromptAnalysis;
}

export interface ErrorMessage {
  type: 'error';
  requestId: number;
  prompt: string;
  origin: PromptOrigin;
  error: EngineErrorInfo;
}

/** The full panel (heatmap, vectors, continuations, inspector): the host maps the engine's result into the view model. */
export interface PanelMessage {
  type: 'panel';
  requestId: number;
  prompt: string;
  origin: PromptOrigin;
  view: PanelViewModel;
}

/** Shows layer k in the panel's layer inspector (the Layers view and the Inspect Layers command). */
export interface InspectLayerMessage {
  type: 'inspectLayer';
  k: number;
}

export type HostToWebview = AnalyzingMessage | AnalysisMessage | ErrorMessage | PanelMessage | InspectLayerMessage;

/** Settings the webview may ask the host to reveal (a closed list: the webview cannot open arbitrary UI). */
export const REVEALABLE_SETTINGS = ['polyglotLens.modelPath', 'polyglotLens.threads'] as const;
export type RevealableSetting = (typeof REVEALABLE_SETTINGS)[number];

/**
 * The panel's steering intents (posted by the vector toggles; slider drags are debounced in the webview and
 * the host cancels superseded requests).
 */
export type PanelIntent = { type: 'setVector'; id: string; enabled: boolean; layer: number; strength: number };

export type WebviewToHost = { type: 'ready' } | { type: 'openSettings'; setting: RevealableSetting } | { type: 'rerun' } | PanelIntent;

// ---- validators -------------------------------------------------------------------------------------

const promptOrigin: Validator<PromptOrigin> = object({
  kind: literal('selection', 'string', 'paragraph', 'line'),
  fileName: str,
  line: nonNegativeInt,
});

export const hostToWebview: Validator<HostToWebview> = discriminated<HostToWebview, 'type'>('type', {
  analyzing: object({ type: literal('analyzing'), requestId: int, prompt: str, origin: promptOrigin }),
  analysis: object({ type: literal('analysis'), requestId: int, origin: promptOrigin, analysis: promptAnalysis }),
  error: object({ type: literal('error'), requestId: int, prompt: str, origin: promptOrigin, error: engineErrorInfo }),
  panel: object({ type: literal('panel'), requestId: int, prompt: str, origin: promptOrigin, view: panelViewModel }),
  inspectLayer: object({ type: literal('inspectLayer'), k: nonNegativeInt }),
});

export const webviewToHost: Validator<WebviewToHost> = discriminated<WebviewToHost, 'type'>('type', {
  ready: object({ type: literal('ready') }),
  openSettings: object({ type: literal('openSettings'), setting: literal(...REVEALABLE_SETTINGS) }),
  rerun: object({ type: literal('rerun') }),
  setVector: object({ type: literal('setVector'), id: str, enabled: bool, layer: nonNegativeInt, strength: num }),
});

export const panelIntent: Validator<PanelIntent> = discriminated<PanelIntent, 'type'>('type', {
  setVector: object({ type: literal('setVector'), id: str, enabled: bool, layer: nonNegativeInt, strength: num }),
});

/** The id under which the panel is registered (also its serializer's view type). */
export const STEER_PANEL_VIEW_TYPE = 'polyglotLens.steerPanel';
