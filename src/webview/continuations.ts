/**
 * Base vs steered continuations side by side, each with its identified language, and a token-level diff:
 * tokens only the base has are struck through on the left, tokens only the steered one has are marked on
 * the right (the editor's diff colours).
 */
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import { h, icon } from './dom';
import { languageColour } from './palette';
import { strings } from './strings';
import { diffTokens, visibleToken, type ContinuationView, type PanelViewModel } from './viewModel';

export function renderContinuations(vm: PanelViewModel): HTMLElement | null {
  const c = vm.continuations;
  if (c === undefined) return null;
  const ops = c.steered !== undefined ? diffTokens(c.base.tokens, c.steered.tokens) : [];
  const baseTokens = c.steered !== undefined ? ops.filter((o) => o.op !== 'added') : c.base.tokens.map((text) => ({ op: 'same' as const, text }));
  const steeredTokens = ops.filter((o) => o.op !== 'removed');
  const column = (kind: 'base' | 'steered', title: string, cont: ContinuationView | undefined, tokens: { op: string; text: string }[]): HTMLElement =>
    h(
      'div',
      { class: `continuation ${kind}`, 'data-testid': `continuation-${kind}` },
      h('div', { class: 'continuation-head' }, icon(kind === 'base' ? 'circle-large-outline' : 'zap'), h('span', { class: 'continuation-title' }, title), cont !== undefined && languageBadge(vm, cont)),
      cont === undefined
        ? h('p', { class: 'hint' }, strings.noSteered())
        : h(
            'p',
            { class: 'continuation-text', 'aria-label': cont.text },
            h('span', { class: 'prompt-echo' }, vm.tokens.join('')),
            ...tokens.map((t) =>
              h(
                t.op === 'same' ? 'span' : t.op === 'added' ? 'ins' : 'del',
                { class: `ctok ${t.op}`, 'data-op': t.op, title: JSON.stringify(t.text) },
                // Whitespace stays plain in running text, except where a changed token is only whitespace.
                t.op !== 'same' && t.text.trim() === '' ? visibleToken(t.text) : t.text,
              ),
            ),
          ),
    );
  return h(
    'section',
    { class: 'continuations', 'data-testid': 'continuations', 'aria-labelledby': 'continuations-title' },
    h('h2', { id: 'continuations-title' }, icon('comment-discussion'), strings.continuations()),
    h('div', { class: 'side-by-side' }, column('base', strings.base(), c.base, baseTokens), column('steered', strings.steered(), c.steered, steeredTokens)),
  );
}

function languageBadge(vm: PanelViewModel, c: ContinuationView): HTMLElement {
  const i = vm.languages.findIndex((l) => l.code === c.language);
  const name = i >= 0 ? (vm.languages[i]?.name ?? c.language) : c.language === 'und' ? strings.unknownLanguage() : c.language;
  const dot = h('span', { class: 'dot' });
  if (i >= 0) dot.style.backgroundColor = languageColour(i);
  const confidence = c.confidence !== undefined ? `${Math.round(c.confidence * 100)} %` : '?';
  return h('span', { class: 'language-badge', 'data-testid': 'language-badge', 'data-language': c.language, title: strings.identified(name, confidence) }, dot, name, c.confidence !== undefined && h('span', { class: 'confidence' }, confidence));
}
