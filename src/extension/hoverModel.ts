/**
 * The pure part of the prompt hover: which token is under the mouse, that token's nearest language per
 * layer (base and steered), the next-token candidates at its position, and the hover's markdown.
 *
 * Free of `vscode` so it is unit-tested in plain Node; user-visible strings go through @vscode/l10n, which
 * the extension host configures with VS Code's bundle (src/extension/contributions.ts) and which gives the
 * English source strings in tests. (Through the imported `l10n`, so `npm run l10n` exports them.)
 */
import * as l10n from '@vscode/l10n';
import { inkFor, languageColour } from '../protocol/palette';
import type { AppliedVector, LayerAnalysis, PromptAnalysis, TokenInfo } from '../protocol/engine';

/** A token's characters in the prompt, UTF-16 offsets, end exclusive (empty for BOS and for the first part of a split character). */
export interface TokenSpan {
  start: number;
  end: number;
}

/**
 * Where each analysed token lies in `prompt`. The engine's token texts spell out the decoded prompt (a
 * character split over several tokens reads '' for its first parts and whole on the last), so their running
 * lengths are the offsets; when the decoded text differs from the prompt (NFC normalisation, a tokenizer
 * that drops or adds characters) the tokens are aligned one by one and any that cannot be placed get an
 * empty span.
 */
export function tokenSpans(prompt: string, tokens: readonly TokenInfo[]): TokenSpan[] {
  const texts = tokens.map((t) => (t.special === true ? '' : t.text));
  if (texts.join('') === prompt) {
    let at = 0;
    return texts.map((s) => {
      const span = { start: at, end: at + s.length };
      at += s.length;
      return span;
    });
  }
  // Compare in NFC: `norm` is the prompt normalised per character cluster, `origin[i]` where unit i came from.
  const norm: string[] = [];
  const origin: number[] = [];
  for (const m of prompt.matchAll(/\P{M}\p{M}*|\p{M}+/gu)) {
    const n = m[0].normalize('NFC');
    for (let k = 0; k < n.length; k++) {
      norm.push(n[k] as string);
      origin.push(m.index);
    }
  }
  const normalised = norm.join('');
  origin.push(prompt.length);
  const toPrompt = (i: number): number => origin[Math.min(i, origin.length - 1)] as number;
  let at = 0;
  return texts.map((raw) => {
    const s = raw.normalize('NFC');
    let from = -1;
    let to = -1;
    if (s !== '' && normalised.startsWith(s, at)) {
      from = at;
      to = at + s.length;
    } else if (s.trim() !== '') {
      // A tokenizer may add a space in front (SentencePiece's dummy prefix) or decode spaces differently.
      const core = s.trim();
      const next = normalised.indexOf(core, at);
      if (next >= 0 && next - at <= s.length - core.length + 1) {
        from = next;
        to = next + core.length;
      }
    }
    if (from < 0) return { start: toPrompt(at), end: toPrompt(at) };
    at = to;
    return { start: toPrompt(from), end: toPrompt(to) };
  });
}

/** The token whose span holds prompt index `index` (the last one if spans overlap), or undefined. */
export function tokenIndexAt(spans: readonly TokenSpan[], index: number): number | undefined {
  for (let i = spans.length - 1; i >= 0; i--) {
    const s = spans[i] as TokenSpan;
    if (s.start <= index && index < s.end) return i;
  }
  return undefined;
}

/** One layer's verdict on one token: the nearest language and its mean-centred cosine similarity. */
export interface LayerCell {
  layer: number;
  language: string | null;
  similarity: number | null;
}

/** The nearest language of the token at `position` at every layer k = 0..L (null where there are no centroids). */
export function nearestByLayer(layers: readonly LayerAnalysis[], position: number, languages: readonly string[]): LayerCell[] {
  return layers.map((l) => {
    const language = l.nearest?.[position] ?? null;
    const row = l.similarity?.[position];
    const i = language === null ? -1 : languages.indexOf(language);
    return { layer: l.layer, language, similarity: row !== undefined && i >= 0 ? (row[i] ?? null) : null };
  });
}

/** Consecutive layers with the same nearest language. */
export interface LanguageRun {
  from: number;
  to: number;
  language: string | null;
}

export function languageRuns(cells: readonly LayerCell[]): LanguageRun[] {
  const runs: LanguageRun[] = [];
  for (const c of cells) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.language === c.language && last.to === c.layer - 1) last.to = c.layer;
    else runs.push({ from: c.layer, to: c.layer, language: c.language });
  }
  return runs;
}

/** The strip as text: `k0 it · k1–6 pt` ('?' where a layer has no verdict). */
export function stripText(cells: readonly LayerCell[]): string {
  return languageRuns(cells)
    .map((r) => `k${r.from}${r.to > r.from ? `–${r.to}` : ''} ${r.language ?? '?'}`)
    .join(' · ');
}

export interface Candidate {
  id: number;
  text: string;
  probability: number;
}

/** Next-token candidates at one position, base and (with vectors) steered. */
export interface NextTokens {
  base: Candidate[];
  steered: Candidate[] | null;
}

/** Everything the hover shows about one token. */
export interface HoverContent {
  token: TokenInfo;
  /** Index in the analysed tokens (BOS included). */
  position: number;
  /** Tokens the user wrote (BOS left out) and this token's 1-based number among them. */
  tokenCount: number;
  tokenNumber: number;
  languages: readonly string[];
  base: LayerCell[];
  steered: LayerCell[] | null;
  vectors: readonly AppliedVector[];
  /** Null when the candidates at this position are not known (yet). */
  next: NextTokens | null;
  /** The prompt's own next token after this one, if any. */
  actualNext: TokenInfo | null;
  modelName: string;
}

/**
 * The next-token candidates at `position`, from the analysis alone: the per-position logit lens at the last
 * layer when the analysis was asked to inspect, else the analysis' own next tokens at the last position.
 */
export function nextTokensAt(analysis: PromptAnalysis, position: number, topK: number): NextTokens | null {
  const lastLayerOf = (lens: readonly (readonly (readonly Candidate[])[])[] | undefined): Candidate[] | undefined => lens?.[lens.length - 1]?.[position]?.slice(0, topK);
  const base = lastLayerOf(analysis.inspection?.lens);
  if (base !== undefined) {
    const steered = analysis.steered === null ? null : (lastLayerOf(analysis.steered.inspection?.lens) ?? null);
    return { base, steered };
  }
  if (position === analysis.tokens.length - 1) {
    return { base: analysis.nextTokens.slice(0, topK), steered: analysis.steered?.nextTokens.slice(0, topK) ?? null };
  }
  return null;
}

/** The hover's data for the token at `position` of `analysis`; `next` as found by {@link nextTokensAt} or fetched. */
export function hoverContent(analysis: PromptAnalysis, position: number, next: NextTokens | null): HoverContent {
  const languages = analysis.centroids?.languages ?? [];
  const userTokens = analysis.tokens.filter((t) => t.special !== true);
  const before = analysis.tokens.slice(0, position + 1).filter((t) => t.special !== true).length;
  return {
    token: analysis.tokens[position] as TokenInfo,
    position,
    tokenCount: userTokens.length,
    tokenNumber: before,
    languages,
    base: nearestByLayer(analysis.layers, position, languages),
    steered: analysis.steered === null ? null : nearestByLayer(analysis.steered.layers, position, languages),
    vectors: analysis.steered?.vectors ?? [],
    next,
    actualNext: analysis.tokens[position + 1] ?? null,
    modelName: analysis.model.name,
  };
}

// ---- markdown -----------------------------------------------------------------------------------------

/** Whitespace made visible, so a token's leading space or newline can be seen. */
export function visibleToken(text: string): string {
  if (text === '') return '∅';
  return text.replace(/ /g, '␣').replace(/\r?\n/g, '↵').replace(/\t/g, '⇥');
}

/** A markdown code span of `text` that no backtick inside it can end (and, in a table cell, no `|`). */
export function codeSpan(text: string, inTable = false): string {
  let s = visibleToken(text);
  if (inTable) s = s.replace(/\|/g, '\\|');
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

/** Text with markdown's and HTML's special characters escaped. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, (c) => `\\${c}`);
}

const NO_LANGUAGE_COLOUR = '#6e6e6e';

/**
 * The strip: one coloured cell per layer, the language code inside while there is room (a model with many
 * layers gets plain squares). The colours are the panel's (src/protocol/palette.ts). VS Code's hover keeps a
 * `<span>` only with exactly `color:#…;background-color:#…;border-radius:Npx;` (each part optional, in this
 * order, no spaces) as its style, which is what this writes.
 */
export function stripHtml(cells: readonly LayerCell[], languages: readonly string[]): string {
  const labelled = cells.length <= 16;
  return cells
    .map((c) => {
      const bg = c.language === null ? NO_LANGUAGE_COLOUR : languageColour(c.language, languages);
      const label = labelled ? escapeMarkdown(c.language ?? '?') : '&nbsp;';
      return `<span style="color:${inkFor(bg)};background-color:${bg};border-radius:3px;">&nbsp;${label}&nbsp;</span>`;
    })
    .join('&#8202;');
}

function percent(p: number): string {
  const v = p * 100;
  return `${v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2)} %`;
}

function vectorLabel(v: AppliedVector): string {
  return `${v.name} @ k${v.layer} × ${Number(v.strength.toPrecision(3))}`;
}

/** The hover as markdown (HTML spans for the strip: set `supportHtml`). */
export function hoverMarkdown(c: HoverContent): string {
  const out: string[] = [];
  out.push(`**Polyglot Lens** · ${l10n.t('token {0} ({1} of {2})', codeSpan(c.token.text), c.tokenNumber, c.tokenCount)} · ${escapeMarkdown(c.modelName)}`);
  out.push('');
  const last = c.base.length - 1;
  if (c.base.every((cell) => cell.language === null)) {
    out.push(`**${l10n.t('nearest language')}**: ${l10n.t('this model has no language centroids (run polyglot-lens extract to build them).')}`);
  } else {
    out.push(`**${l10n.t('nearest language')}** ${l10n.t('per layer, k = 0 … {0}', last)}`);
    out.push('');
    const rows: [string, LayerCell[]][] = [[l10n.t('base'), c.base]];
    if (c.steered !== null) rows.push([l10n.t('steered'), c.steered]);
    for (const [label, cells] of rows) {
      out.push(`${escapeMarkdown(label)}&nbsp;&nbsp;${stripHtml(cells, c.languages)}&nbsp;&nbsp;\`${stripText(cells)}\`  `);
    }
    if (c.steered !== null && c.vectors.length > 0) out.push(escapeMarkdown(`${l10n.t('vectors')}: ${c.vectors.map(vectorLabel).join(', ')}`));
  }
  out.push('');
  const continues = c.actualNext !== null ? ` — ${l10n.t('the prompt continues with {0}', codeSpan(c.actualNext.text))}` : '';
  if (c.next === null) {
    out.push(`**${l10n.t('next token')}**: ${l10n.t('not available for this position.')}${continues}`);
    return out.join('\n');
  }
  out.push(`**${l10n.t('next token')}** ${l10n.t('after this token')}${continues}`);
  out.push('');
  const steered = c.next.steered;
  const actualId = c.actualNext?.id;
  const cell = (x: Candidate | undefined): string => {
    if (x === undefined) return '';
    const s = `${codeSpan(x.text, true)} ${percent(x.probability)}`;
    return x.id === actualId ? `**${s}**` : s;
  };
  out.push(steered !== null ? `| | ${l10n.t('base')} | ${l10n.t('steered')} |` : `| | ${l10n.t('base')} |`);
  out.push(steered !== null ? '|--:|:--|:--|' : '|--:|:--|');
  const n = Math.max(c.next.base.length, steered?.length ?? 0);
  for (let i = 0; i < n; i++) {
    out.push(steered !== null ? `| ${i + 1} | ${cell(c.next.base[i])} | ${cell(steered[i])} |` : `| ${i + 1} | ${cell(c.next.base[i])} |`);
  }
  return out.join('\n');
}
