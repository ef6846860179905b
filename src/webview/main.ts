/**
 * The Steer Prompt panel (browser code, bundled to dist/webview.js). It renders the messages the host
 * sends and posts user intents back; it never sees the model. Every incoming message is validated, and
 * every string from the model or the document reaches the DOM through textContent, never innerHTML.
 */
// First: hands @vscode/l10n the host's translations before any other module runs.
import './l10nBundle';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import { hostToWebview, type AnalysisMessage, type AnalyzingMessage, type ErrorMessage, type HostToWebview, type PanelIntent, type PanelMessage, type PromptOrigin, type WebviewToHost } from '../protocol/webview';
import type { LayerAnalysis, PromptAnalysis, TokenInfo } from '../protocol/engine';
import { safeParse } from '../protocol/validate';
import { h } from './dom';
import { languageColour, parseColour, textOn } from './palette';
import { initialUiState, PanelView, restoredUiState, type PanelUiState } from './panel';
import { strings } from './strings';
import { visibleToken } from './viewModel';

interface VsCodeApi {
  postMessage(message: WebviewToHost | PanelIntent): void;
  getState(): unknown;
  /** The last message shown; for a panel, with its view settings as `ui` (not part of the protocol: the host never reads it). */
  setState(state: PanelState | (PanelMessage & { ui: PanelUiState })): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const app = document.getElementById('app') as HTMLElement;

function describeOrigin(o: PromptOrigin): string {
  return strings.promptOrigin(o.kind, o.line + 1, o.fileName);
}

function header(prompt: string, origin: PromptOrigin): HTMLElement {
  return h('header', {}, h('p', { class: 'origin', 'data-testid': 'origin' }, describeOrigin(origin)), h('blockquote', { class: 'prompt', 'data-testid': 'prompt' }, prompt));
}

function renderAnalyzing(m: AnalyzingMessage): Node[] {
  return [header(m.prompt, m.origin), h('div', { class: 'status', 'data-testid': 'status', role: 'status' }, h('vscode-progress-ring', {}), h('span', {}, strings.runningModel()))];
}

function renderAnalysis(m: AnalysisMessage): Node[] {
  const a = m.analysis;
  const content = a.tokens.filter((t) => t.special !== true);
  const tokens = h(
    'ol',
    { class: 'tokens', 'aria-label': strings.tokensHeading() },
    ...a.tokens.map((t, i) =>
      t.special === true
        ? h('li', { class: 'special-token', 'data-token-id': String(t.id), title: `#${i} · id ${t.id} · ${strings.specialToken()}` }, t.piece)
        : t.text === ''
          ? // The first byte(s) of a character that the next token completes.
            h('li', { class: 'token partial', 'data-token-id': String(t.id), 'data-text': '', title: `#${i} · id ${t.id} · ${JSON.stringify(t.piece)} · ${strings.partialToken()}` }, '\u2026')
          : h('li', { class: 'token', 'data-token-id': String(t.id), 'data-text': t.text, title: `#${i} · id ${t.id} · ${JSON.stringify(t.piece)}` }, visibleToken(t.text)),
    ),
  );
  const best = a.nextTokens[0];
  const rows = a.nextTokens.map((c, rank) =>
    h(
      'tr',
      { 'data-token-id': String(c.id), 'data-text': c.text },
      h('td', { class: 'rank' }, String(rank + 1)),
      h('td', { class: 'candidate' }, h('code', {}, visibleToken(c.text))),
      h('td', { class: 'prob' }, h('span', { class: 'track' }, h('span', { class: 'bar' })), `${(c.probability * 100).toFixed(1)} %`),
      h('td', { class: 'id' }, String(c.id)),
    ),
  );
  const table = h('table', { class: 'next' }, h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, strings.token()), h('th', {}, strings.probability()), h('th', {}, strings.tokenId()))), h('tbody', {}, ...rows));
  // Bar widths via CSSOM: the CSP forbids inline style attributes but not element.style.
  rows.forEach((row, i) => {
    const bar = row.querySelector<HTMLElement>('.bar');
    const p = a.nextTokens[i]?.probability ?? 0;
    if (bar) bar.style.width = `${Math.max(1, Math.round(p * 100))}%`;
  });
  const model = a.model;
  // Keyed by the English name (data-fact, for tests and styles); shown translated.
  const facts: [Parameters<typeof strings.fact>[0], string][] = [
    ['Model', model.name],
    ['Architecture', model.architecture],
    ['Hidden size', String(model.hiddenSize)],
    ['Layers', String(model.numLayers)],
    ['Vocabulary', String(model.vocabSize)],
    ['Inference', strings.inferenceTime(a.timings.inferenceMs.toFixed(1), a.timings.loadMs > 0 ? a.timings.loadMs.toFixed(0) : undefined)],
  ];
  const nodes: (Node | null | false)[] = [
    header(a.prompt, m.origin),
    h('section', { 'data-testid': 'tokens' }, h('h2', {}, `${strings.tokensHeading()} `, h('vscode-badge', { 'data-testid': 'token-count' }, String(content.length))), tokens),
    h(
      'section',
      { 'data-testid': 'next-tokens' },
      h('h2', {}, strings.nextToken()),
      best !== undefined && h('p', { class: 'argmax', 'data-testid': 'argmax', 'data-token-id': String(best.id), 'data-text': best.text }, `${strings.mostLikely()} `, h('code', {}, visibleToken(best.text))),
      table,
    ),
    ...a.warnings.map((w) => h('p', { class: 'warning', 'data-testid': 'warning' }, w)),
    languageSection(strings.languagesByLayer(), 'languages', a, a.layers),
    a.steered !== null && languageSection(strings.steeredBy(a.steered.vectors.map((v) => strings.vectorAt(v.name, v.layer, v.strength)).join(', ')), 'steered-languages', a, a.steered.layers),
    continuationsSection(a),
    h('section', { 'data-testid': 'model' }, h('h2', {}, strings.modelHeading()), h('dl', {}, ...facts.flatMap(([k, v]) => [h('dt', {}, strings.fact(k)), h('dd', { 'data-fact': k }, v)]))),
  ];
  return nodes.filter((n): n is Node => n !== null && n !== false);
}

function tokenHeader(t: TokenInfo): string {
  return t.special === true ? t.piece : t.text === '' ? '\u2026' : visibleToken(t.text);
}

/** Layers × tokens: each cell the token's nearest language at that layer (last layer on top). */
function languageSection(title: string, testId: string, a: PromptAnalysis, layers: readonly LayerAnalysis[]): HTMLElement | null {
  const languages = a.centroids?.languages ?? [];
  if (a.centroids === null || !layers.some((l) => l.nearest !== undefined)) {
    return testId === 'languages' ? h('section', { 'data-testid': testId }, h('h2', {}, title), h('p', { class: 'note' }, strings.noCentroids())) : null;
  }
  const rows = [...layers]
    .sort((x, y) => y.layer - x.layer)
    .map((layer) =>
      h(
        'tr',
        { 'data-layer': String(layer.layer) },
        h('th', { scope: 'row' }, `k=${layer.layer}`),
        ...a.tokens.map((t, i) => {
          const lang = layer.nearest?.[i] ?? '';
          const sims = layer.similarity?.[i] ?? [];
          const cell = h('td', { 'data-lang': lang, title: `${tokenHeader(t)} · k=${layer.layer} · norm ${(layer.norms[i] ?? 0).toFixed(1)} · ${languages.map((l, j) => `${l} ${(sims[j] ?? 0).toFixed(2)}`).join(' ')}` }, lang);
          if (lang !== '') {
            // Colours via CSSOM: the CSP forbids inline style attributes but not element.style.
            const bg = languageColour(Math.max(0, languages.indexOf(lang)));
            cell.style.background = bg;
            cell.style.color = textOn(parseColour(bg) ?? [0, 0, 0]);
          }
          return cell;
        }),
      ),
    );
  const head = h('tr', {}, h('th', {}), ...a.tokens.map((t) => h('th', { class: 'tok', scope: 'col' }, tokenHeader(t))));
  return h(
    'section',
    { 'data-testid': testId },
    h('h2', {}, title),
    h('div', { class: 'heat-scroll' }, h('table', { class: 'heat' }, h('tbody', {}, ...rows, head))),
    a.centroids.matchesModel ? null : h('p', { class: 'note' }, strings.otherCheckpoint()),
  );
}

function continuationsSection(a: PromptAnalysis): HTMLElement | null {
  const c = a.continuations;
  if (c === null) return null;
  const col = (title: string, text: string, testId: string): HTMLElement => h('div', { class: 'continuation', 'data-testid': testId }, h('h3', {}, title), h('p', {}, h('span', { class: 'prompt-echo' }, a.prompt), text));
  return h(
    'section',
    { 'data-testid': 'continuations' },
    h('h2', {}, strings.continuations()),
    h('div', { class: 'columns' }, col(strings.baseContinuation(), c.base.text, 'base'), c.steered !== null && col(strings.steeringSteered(), c.steered.text, 'steered')),
  );
}

function renderError(m: ErrorMessage): Node[] {
  const modelProblem = ['MODEL_NOT_FOUND', 'MODEL_INVALID', 'TOKENIZER_INVALID', 'UNSUPPORTED_MODEL'].includes(m.error.code);
  const settings = h('vscode-button', { 'data-action': 'open-settings' }, strings.openSettings());
  const retry = h('vscode-button', { 'data-action': 'rerun', secondary: '' }, strings.tryAgain());
  settings.addEventListener('click', () => vscode.postMessage({ type: 'openSettings', setting: 'polyglotLens.modelPath' }));
  retry.addEventListener('click', () => vscode.postMessage({ type: 'rerun' }));
  return [
    header(m.prompt, m.origin),
    h(
      'div',
      { class: 'error', role: 'alert', 'data-testid': 'error', 'data-code': m.error.code },
      h('h2', {}, strings.couldNotAnalyse()),
      h('p', { class: 'message', 'data-testid': 'error-message' }, m.error.message),
      m.error.hint !== undefined && h('p', { class: 'hint' }, m.error.hint),
      h('div', { class: 'actions' }, modelProblem && settings, retry),
    ),
  ];
}

/** UI state of the panel view, kept while the host re-sends the same prompt (e.g. after a vector toggle). */
let panelUi: { prompt: string; state: PanelUiState } | undefined;
/** The panel on screen, if the app shows one: a newer analysis of the same prompt updates it in place. */
let shown: { prompt: string; view: PanelView } | undefined;

/** The message on screen, saved with the panel's view settings so a reload restores both. */
let lastSaved: PanelState | undefined;

/** Host messages that are a state of the panel (everything but one-off commands to the panel on screen). */
type PanelState = Exclude<HostToWebview, { type: 'inspectLayer' }>;

function save(message: PanelState): void {
  lastSaved = message;
  vscode.setState(message.type === 'panel' && panelUi?.prompt === message.prompt ? { ...message, ui: { ...panelUi.state, focus: { ...panelUi.state.focus } } } : message);
}

function renderPanelMessage(m: PanelMessage): Node[] {
  if (panelUi?.prompt !== m.prompt) panelUi = { prompt: m.prompt, state: initialUiState(m.view) };
  const view = new PanelView(
    m.view,
    panelUi.state,
    (intent) => vscode.postMessage(intent),
    () => {
      if (lastSaved !== undefined) save(lastSaved);
    },
  );
  shown = { prompt: m.prompt, view };
  return [header(m.prompt, m.origin), ...view.nodes];
}

/** Updates the panel on screen in place when the message is about the prompt it shows; false if it is not. */
function updateInPlace(message: PanelState): boolean {
  if (shown === undefined || (message.type !== 'panel' && message.type !== 'analyzing')) return false;
  if (message.prompt !== shown.prompt) return false;
  if (message.type === 'panel') shown.view.update(message.view);
  else shown.view.setBusy(true);
  app.dataset['state'] = message.type === 'panel' ? 'panel' : 'updating';
  app.dataset['requestId'] = String(message.requestId);
  return true;
}

function render(message: PanelState): void {
  if (updateInPlace(message)) return;
  shown = undefined;
  let nodes: Node[];
  switch (message.type) {
    case 'panel':
      nodes = renderPanelMessage(message);
      break;
    case 'analyzing':
      nodes = renderAnalyzing(message);
      break;
    case 'analysis':
      nodes = renderAnalysis(message);
      break;
    case 'error':
      nodes = renderError(message);
      break;
  }
  app.replaceChildren(...nodes);
  app.dataset['state'] = message.type;
  app.dataset['requestId'] = String(message.requestId);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const parsed = safeParse(hostToWebview, event.data, 'host message');
  if (!parsed.ok) {
    console.warn(`Polyglot Lens: ignored ${parsed.error.message}`);
    return;
  }
  if (parsed.value.type === 'inspectLayer') {
    // Not a new state of the panel: it moves the inspector of the panel on screen (if any).
    shown?.view.inspectLayer(parsed.value.k);
    return;
  }
  const keepSaved = parsed.value.type === 'analyzing' && shown?.prompt === parsed.value.prompt;
  render(parsed.value);
  // Saved so that VS Code can restore the panel after a reload without re-running the model (a pending
  // update of the panel on screen does not replace it: a reload then still shows the last result).
  if (!keepSaved) save(parsed.value);
});

const savedRaw = vscode.getState();
const saved = safeParse(hostToWebview, savedRaw, 'saved state');
if (saved.ok && saved.value.type !== 'analyzing' && saved.value.type !== 'inspectLayer') {
  if (saved.value.type === 'panel') panelUi = { prompt: saved.value.prompt, state: restoredUiState((savedRaw as { ui?: unknown }).ui, saved.value.view) };
  render(saved.value);
  lastSaved = saved.value;
} else {
  // Nothing to restore: say how to fill the panel (in the webview, so it is translated like the rest).
  const [before, command, after] = strings.placeholder();
  app.replaceChildren(h('p', { class: 'placeholder', 'data-testid': 'placeholder' }, before, h('strong', {}, command), after));
}
vscode.postMessage({ type: 'ready' });
