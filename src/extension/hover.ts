/**
 * The prompt hover: hovering a word of a prompt (found by the same rules as Steer Prompt) shows that token's
 * nearest language per layer as a strip, base and steered, and the model's next-token candidates there.
 *
 * It never blocks typing: the analysis runs in the engine worker, one request per (model, prompt, vectors),
 * cached; a newer prompt supersedes the older request (supersede key `hover`), a cancelled hover cancels its
 * request once no other hover waits for it, and a hover that waits longer than a few seconds (the first
 * one loads the model) answers "computing…" while the request goes on to fill the cache.
 */
import * as vscode from 'vscode';
import type { PromptAnalysis, SteeringSpec } from '../protocol/engine';
import { EngineError, isCancelled } from '../protocol/errors';
import { Lru } from '../engine/lru';
import type { EngineClient } from './engineClient';
import { escapeMarkdown, hoverContent, hoverMarkdown, nextTokensAt, tokenIndexAt, tokenSpans, type NextTokens } from './hoverModel';
import { documentKind, findPrompt, promptIndexAt, type FoundPrompt } from './prompt';
import { readSettings } from './settings';

export const HOVER_ENABLED_SETTING = 'hover.enabled';
/** The engine request's supersede key: one hover request at a time. */
export const HOVER_SUPERSEDE_KEY = 'hover';
/** Longer than this and the hover says "computing…" instead of waiting. */
const HOVER_TIMEOUT_MS = 4000;
/** A cancelled hover cancels its request only if no other hover picks it up within this time. */
const CANCEL_GRACE_MS = 400;
/** Longer prompts are left to Steer Prompt. */
const MAX_HOVER_PROMPT_CHARS = 4000;
const MAX_HOVER_TOP_K = 10;

export interface PromptHoverDeps {
  engine: EngineClient;
  /** The model folder in use (the bundled model when the setting is empty). */
  modelDir: () => string;
  /** The steering vectors that are on (VectorState.specs()). */
  vectorSpecs: () => SteeringSpec[];
  log?: (line: string) => void;
}

interface InFlight {
  key: string;
  promise: Promise<PromptAnalysis>;
  waiters: number;
  settled: boolean;
}

class PromptHoverProvider implements vscode.HoverProvider, vscode.Disposable {
  private readonly cache = new Lru<string, PromptAnalysis>(16);
  /** Per-position candidates fetched with the logit lens when the analysis has no per-position lens. */
  private readonly lensCache = new Lru<string, NextTokens>(64);
  private inFlight: InFlight | undefined;
  private cancelTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: PromptHoverDeps) {}

  dispose(): void {
    clearTimeout(this.cancelTimer);
    this.cache.clear();
    this.lensCache.clear();
  }

  async provideHover(document: vscode.TextDocument, position: vscode.Position, token: vscode.CancellationToken): Promise<vscode.Hover | undefined> {
    const config = vscode.workspace.getConfiguration('polyglotLens', document.uri);
    if (config.get<boolean>(HOVER_ENABLED_SETTING, true) === false) return undefined;
    const settings = readSettings(config);
    const offset = document.offsetAt(position);
    const found = this.promptAt(document, offset, settings.promptScope);
    if (found === undefined || found.text.length > MAX_HOVER_PROMPT_CHARS) return undefined;
    // In code only string literals (and selections) are prompts: a hover over an identifier stays quiet.
    if (documentKind(document.languageId) === 'code' && found.kind !== 'string' && found.kind !== 'selection') return undefined;
    const index = promptIndexAt(found, offset);
    if (index === undefined || /\s/.test(found.text[index] ?? ' ')) return undefined;

    const modelDir = this.deps.modelDir();
    const vectors = this.deps.vectorSpecs();
    const topK = Math.min(MAX_HOVER_TOP_K, settings.topK);
    const model = { dir: modelDir, threads: settings.threads, executionProviders: settings.executionProviders };
    const key = JSON.stringify([modelDir, found.text, vectors, topK]);

    let analysis = this.cache.get(key);
    if (analysis === undefined) {
      const flight = this.request(key, () =>
        this.deps.engine.analyze({ model, prompt: found.text, topK, vectors, inspect: { lensTopK: topK, projection: false } }, { supersedeKey: HOVER_SUPERSEDE_KEY }),
      );
      const outcome = await this.wait(flight, token);
      if (outcome.kind === 'cancelled') return undefined;
      if (outcome.kind === 'timeout') return this.message(vscode.l10n.t('computing… (the first hover loads the model); hover again in a moment.'));
      if (outcome.kind === 'error') return outcome.message === undefined ? undefined : this.message(outcome.message);
      analysis = outcome.analysis;
    }

    const spans = tokenSpans(analysis.prompt, analysis.tokens);
    const tokenIndex = tokenIndexAt(spans, index);
    if (tokenIndex === undefined) return undefined;
    let next = nextTokensAt(analysis, tokenIndex, topK);
    if (next === null) next = await this.lensAt(key, model, found.text, tokenIndex, topK, vectors, token);
    if (token.isCancellationRequested) return undefined;

    const markdown = new vscode.MarkdownString(hoverMarkdown(hoverContent(analysis, tokenIndex, next)));
    markdown.supportHtml = true;
    const span = spans[tokenIndex] as { start: number; end: number };
    const range = new vscode.Range(document.positionAt(documentOffset(found, span.start)), document.positionAt(documentOffset(found, span.end)));
    return new vscode.Hover(markdown, range);
  }

  /** The selection when the mouse is inside it, else the prompt around the mouse. */
  private promptAt(document: vscode.TextDocument, offset: number, scope: ReturnType<typeof readSettings>['promptScope']): FoundPrompt | undefined {
    const text = document.getText();
    const editor = vscode.window.visibleTextEditors.find((e) => e.document === document);
    const selection = editor?.selection;
    if (selection !== undefined && !selection.isEmpty) {
      const start = document.offsetAt(selection.start);
      const end = document.offsetAt(selection.end);
      if (offset >= start && offset < end) return findPrompt({ text, selectionStart: start, selectionEnd: end, scope, languageId: document.languageId });
    }
    return findPrompt({ text, selectionStart: offset, selectionEnd: offset, scope, languageId: document.languageId });
  }

  /** The request for `key`: the one in flight if it is for the same key, else a new one (which supersedes the old). */
  private request(key: string, start: () => Promise<PromptAnalysis>): InFlight {
    clearTimeout(this.cancelTimer);
    if (this.inFlight !== undefined && this.inFlight.key === key && !this.inFlight.settled) return this.inFlight;
    const flight: InFlight = { key, promise: start(), waiters: 0, settled: false };
    this.inFlight = flight;
    flight.promise.then(
      (analysis) => {
        flight.settled = true;
        this.cache.set(key, analysis);
      },
      () => {
        flight.settled = true;
      },
    );
    return flight;
  }

  private async wait(
    flight: InFlight,
    token: vscode.CancellationToken,
  ): Promise<{ kind: 'done'; analysis: PromptAnalysis } | { kind: 'cancelled' } | { kind: 'timeout' } | { kind: 'error'; message: string | undefined }> {
    flight.waiters++;
    let timer: NodeJS.Timeout | undefined;
    let listener: vscode.Disposable | undefined;
    try {
      const stop = new Promise<'cancelled' | 'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), HOVER_TIMEOUT_MS);
        listener = token.onCancellationRequested(() => resolve('cancelled'));
        if (token.isCancellationRequested) resolve('cancelled');
      });
      const outcome = await Promise.race([flight.promise, stop]);
      if (outcome === 'cancelled' || outcome === 'timeout') return { kind: outcome };
      return { kind: 'done', analysis: outcome };
    } catch (err) {
      if (isCancelled(err)) return { kind: 'cancelled' };
      const error = err instanceof EngineError ? err : new EngineError('INTERNAL', String(err));
      this.deps.log?.(`hover: ${error.code} ${error.message}`);
      return { kind: 'error', message: `${error.message}${error.hint !== undefined ? ` ${error.hint}` : ''}` };
    } finally {
      clearTimeout(timer);
      listener?.dispose();
      flight.waiters--;
      if (token.isCancellationRequested) this.cancelIfUnwanted(flight);
    }
  }

  /** Cancels the engine request of a cancelled hover unless another hover waits for it within a moment. */
  private cancelIfUnwanted(flight: InFlight): void {
    clearTimeout(this.cancelTimer);
    this.cancelTimer = setTimeout(() => {
      if (this.inFlight === flight && flight.waiters === 0 && !flight.settled) this.deps.engine.cancel(HOVER_SUPERSEDE_KEY);
    }, CANCEL_GRACE_MS);
  }

  /** Candidates at one position from the logit lens (an engine without per-position inspection). */
  private async lensAt(
    key: string,
    model: { dir: string; threads: number; executionProviders: ReturnType<typeof readSettings>['executionProviders'] },
    prompt: string,
    position: number,
    topK: number,
    vectors: SteeringSpec[],
    token: vscode.CancellationToken,
  ): Promise<NextTokens | null> {
    const lensKey = `${key}#${position}`;
    const cached = this.lensCache.get(lensKey);
    if (cached !== undefined) return cached;
    const finalLayer = async (specs: SteeringSpec[]): Promise<NextTokens['base']> => {
      const result = await this.deps.engine.logitLens({ model, prompt, position, topK, vectors: specs }, { supersedeKey: `${HOVER_SUPERSEDE_KEY}-lens${specs.length > 0 ? '-steered' : ''}` });
      return result.layers[result.layers.length - 1]?.candidates ?? [];
    };
    const work = Promise.all([finalLayer([]), vectors.length > 0 ? finalLayer(vectors) : Promise.resolve(null)]).then(([base, steered]) => ({ base, steered }));
    let timer: NodeJS.Timeout | undefined;
    let listener: vscode.Disposable | undefined;
    const stop = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), HOVER_TIMEOUT_MS);
      listener = token.onCancellationRequested(() => resolve(null));
    });
    try {
      const next = await Promise.race([work, stop]);
      if (next !== null) this.lensCache.set(lensKey, next);
      return next;
    } catch (err) {
      if (!isCancelled(err)) this.deps.log?.(`hover: logit lens failed: ${String(err)}`);
      return null;
    } finally {
      clearTimeout(timer);
      listener?.dispose();
      void work.catch(() => undefined); // a late failure after a timeout is not an unhandled rejection
    }
  }

  private message(text: string): vscode.Hover {
    return new vscode.Hover(new vscode.MarkdownString(`**Polyglot Lens** · ${escapeMarkdown(text)}`));
  }
}

/** Document offset of prompt index `i` (i = text.length: the end). */
function documentOffset(found: FoundPrompt, i: number): number {
  return found.offsets !== undefined ? (found.offsets[i] ?? found.end) : found.start + i;
}

/**
 * Registers the prompt hover for files and untitled documents. The `polyglotLens.hover.enabled` setting
 * is read on every hover, so turning it off takes effect at once.
 */
export function registerPromptHover(context: vscode.ExtensionContext, deps: PromptHoverDeps): vscode.Disposable {
  const provider = new PromptHoverProvider(deps);
  const registration = vscode.languages.registerHoverProvider([{ scheme: 'file' }, { scheme: 'untitled' }], provider);
  const disposable = {
    dispose: () => {
      registration.dispose();
      provider.dispose();
    },
  };
  context.subscriptions.push(disposable);
  return disposable;
}
