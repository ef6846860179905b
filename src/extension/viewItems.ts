/**
 * What the "Steering Vectors" and "Layers" tree views, the status bar item and the strength input show, as
 * plain data: built from the VectorState entries and the last analysis, free of `vscode` imports so it is
 * unit-tested in plain Node. The vscode modules turn these into TreeItems and a StatusBarItem.
 *
 * Strings go through @vscode/l10n (configured with VS Code's bundle at activation), so they are translated
 * the same way as `vscode.l10n.t` strings.
 */
import * as l10n from '@vscode/l10n';
import type { PromptAnalysis, SteerPositions } from '../protocol/engine';
import { languageName } from './languageNames';
import type { VectorEntry } from './vectorState';

/** `fr` → `French` (in VS Code's display language); unknown codes stay as they are. */
export { languageName };

/** Strengths as the UI shows them: at most two decimals, no trailing zeros (0.7599 → 0.76, 1.5 → 1.5). */
export function formatStrength(x: number): string {
  return String(Number(x.toFixed(2)));
}

function positionsLabel(p: SteerPositions): string {
  switch (p) {
    case 'all':
      return l10n.t('all positions');
    case 'prompt':
      return l10n.t('prompt only');
    case 'generated':
      return l10n.t('generated tokens only');
    case 'last-prompt-token':
      return l10n.t('last prompt token');
  }
}

function originLabel(e: VectorEntry): string {
  switch (e.origin) {
    case 'bundled':
      return l10n.t('bundled with the model');
    case 'workspace':
      return l10n.t('vector file');
    case 'computed':
      return l10n.t('computed in this workspace');
  }
}

/** Escapes the Markdown that can appear inside a line (emphasis, code, links, tables, HTML) so names show literally. */
export function escapeMarkdown(s: string): string {
  return s.replace(/[\\`*_[\]|<>]/g, (c) => `\\${c}`);
}

/** One row of the Steering Vectors view. */
export interface VectorItemModel {
  id: string;
  label: string;
  /** e.g. `k=3 · ×0.76`. */
  description: string;
  /** Markdown. */
  tooltip: string;
  /** Menus match on it: `vector.bundled`, `vector.workspace`, `vector.computed` (+ `.modified` when off its default). */
  contextValue: string;
  /** A codicon id. */
  icon: string;
  checked: boolean;
}

/** Whether the vector's layer or strength differs from the one it came with (Reset is offered then). */
export function isModified(e: VectorEntry): boolean {
  return e.layer !== e.defaultLayer || Math.abs(e.strength - e.defaultStrength) > 1e-9;
}

export function vectorDescription(e: VectorEntry): string {
  const parts = [`k=${e.layer}`, `×${formatStrength(e.strength)}`];
  if (e.positions !== 'all') parts.push(positionsLabel(e.positions));
  return parts.join(' · ');
}

export function vectorItemModel(e: VectorEntry): VectorItemModel {
  const languages = e.source === 'und' || e.target === 'und' ? l10n.t('languages not recorded in the file') : `${languageName(e.source)} → ${languageName(e.target)}`;
  const lines = [
    `**${escapeMarkdown(e.name)}** — ${escapeMarkdown(`${e.source} → ${e.target}`)} (${escapeMarkdown(languages)})`,
    '',
    l10n.t('Method: {0}', e.method ?? l10n.t('not recorded')),
    l10n.t('Origin: {0}', originLabel(e)),
    l10n.t("Layer k = {0}, strength ×{1} (of the layer's mean activation norm), {2}", e.layer, formatStrength(e.strength), positionsLabel(e.positions)),
  ];
  if (isModified(e)) lines.push(l10n.t('Default: k = {0}, ×{1}', e.defaultLayer, formatStrength(e.defaultStrength)));
  if (e.origin !== 'bundled') lines.push(l10n.t('File: {0}', `\`${e.ref.replace(/`/g, "'")}\``));
  return {
    id: e.id,
    label: e.name,
    description: vectorDescription(e),
    // Markdown line breaks: two spaces before the newline.
    tooltip: lines.join('  \n'),
    contextValue: `vector.${e.origin}${isModified(e) ? '.modified' : ''}`,
    icon: e.origin === 'bundled' ? 'package' : e.origin === 'computed' ? 'beaker' : 'file',
    checked: e.enabled,
  };
}

/** The view's description next to its title, e.g. `2 on`; undefined when none is on. */
export function vectorsViewDescription(entries: readonly VectorEntry[]): string | undefined {
  const on = entries.filter((e) => e.enabled).length;
  return on === 0 ? undefined : l10n.t('{0} on', on);
}

/** One row of the Layers view. */
export interface LayerRowModel {
  k: number;
  label: string;
  description: string;
  /** Markdown. */
  tooltip: string;
  /** Names of the enabled vectors applied at this layer. */
  vectors: string[];
}

interface LayerSummary {
  /** The language most tokens are nearest to, and how many of the content tokens. */
  language: string;
  tokens: number;
  of: number;
  /** The prompt's mean similarity per language (content tokens), best first. */
  ranking: { language: string; similarity: number }[];
}

/** Majority nearest language over the prompt's content tokens (BOS left out) and the mean similarity per language. */
export function summarizeLayer(analysisLayer: PromptAnalysis['layers'][number] | undefined, languages: readonly string[], contentPositions: readonly number[]): LayerSummary | undefined {
  if (analysisLayer?.nearest === undefined || contentPositions.length === 0) return undefined;
  const counts = new Map<string, number>();
  for (const p of contentPositions) {
    const l = analysisLayer.nearest[p];
    if (l !== undefined) counts.set(l, (counts.get(l) ?? 0) + 1);
  }
  const ranking = languages
    .map((language, j) => {
      const values = contentPositions.map((p) => analysisLayer.similarity?.[p]?.[j]).filter((x): x is number => x !== undefined);
      return { language, similarity: values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN };
    })
    .filter((r) => !Number.isNaN(r.similarity))
    .sort((a, b) => b.similarity - a.similarity);
  // Ties between equally frequent languages go to the one the prompt is closer to on average.
  const rank = new Map(ranking.map((r, i) => [r.language, i]));
  const [language, tokens] = [...counts].sort((a, b) => b[1] - a[1] || (rank.get(a[0]) ?? 99) - (rank.get(b[0]) ?? 99))[0] ?? ['und', 0];
  return { language, tokens, of: contentPositions.length, ranking };
}

function similarityText(x: number): string {
  return x.toFixed(2);
}

/**
 * The Layers view's rows, k = 0 .. L, from the last analysis: at each layer the language most of the prompt's
 * tokens are nearest to ("fr 5/7 · 0.42" = 5 of 7 tokens nearest to French, mean similarity to French 0.42),
 * the steered one when vectors were on ("→ en"), and the enabled vectors applied there.
 */
export function layerRows(analysis: PromptAnalysis, active: readonly VectorEntry[]): LayerRowModel[] {
  const L = analysis.layers.length - 1;
  const languages = analysis.centroids?.languages ?? [];
  const content = analysis.tokens.flatMap((t, i) => (t.special === true ? [] : [i]));
  return analysis.layers.map((layer) => {
    const k = layer.layer;
    const base = summarizeLayer(layer, languages, content);
    const steeredLayer = analysis.steered?.layers.find((s) => s.layer === k);
    const steered = steeredLayer !== undefined ? summarizeLayer(steeredLayer, languages, content) : undefined;
    const vectors = active.filter((v) => v.layer === k).map((v) => v.name);
    const parts: string[] = [];
    if (base === undefined) parts.push(l10n.t('no language centroids'));
    else {
      const similarity = base.ranking.find((r) => r.language === base.language)?.similarity;
      parts.push(`${base.language} ${base.tokens}/${base.of}${similarity !== undefined ? ` · ${similarityText(similarity)}` : ''}`);
      if (steered !== undefined && steered.language !== base.language) parts.push(`→ ${steered.language}`);
    }
    if (vectors.length > 0) parts.push(`⚡ ${vectors.join(', ')}`);
    const label = k === 0 ? l10n.t('k = {0} · embeddings', k) : k === L ? l10n.t('k = {0} · last block', k) : l10n.t('k = {0}', k);
    const tooltip: string[] = [`**${escapeMarkdown(label)}**`, ''];
    if (base === undefined) tooltip.push(l10n.t('The model has no language centroids, so the layers cannot be compared with languages.'));
    else {
      tooltip.push(l10n.t('{0} of {1} prompt tokens are nearest to {2} here.', base.tokens, base.of, languageName(base.language)));
      tooltip.push('', `| ${l10n.t('language')} | ${l10n.t('mean similarity')} |${steered ? ` ${l10n.t('steered')} |` : ''}`, `|---|---:|${steered ? '---:|' : ''}`);
      for (const r of base.ranking.slice(0, 5)) {
        const s = steered?.ranking.find((x) => x.language === r.language)?.similarity;
        tooltip.push(`| ${escapeMarkdown(languageName(r.language))} | ${similarityText(r.similarity)} |${steered ? ` ${s !== undefined ? similarityText(s) : ''} |` : ''}`);
      }
      if (steered !== undefined) tooltip.push('', l10n.t('Steered: {0} of {1} tokens nearest to {2}.', steered.tokens, steered.of, languageName(steered.language)));
    }
    if (vectors.length > 0) tooltip.push('', l10n.t('Vectors applied here: {0}', vectors.map(escapeMarkdown).join(', ')));
    tooltip.push('', l10n.t('Click to open the layer inspector at k = {0}.', k));
    return { k, label, description: parts.join(' · '), tooltip: tooltip.join('  \n').replace(/ {2}\n\|/g, '\n|'), vectors };
  });
}

/** The status bar item: `$(globe) tiny-polyglot · fr-en` (model + enabled vectors, or "no steering"). */
export function statusBarModel(modelName: string, active: readonly VectorEntry[]): { text: string; tooltip: string } {
  const names = active.map((v) => v.name);
  const steering = names.length === 0 ? l10n.t('no steering') : names.length <= 2 ? names.join(', ') : `${names.slice(0, 2).join(', ')} +${names.length - 2}`;
  const tooltip = [
    `**Polyglot Lens** — ${escapeMarkdown(modelName)}`,
    '',
    ...(active.length === 0 ? [l10n.t('No steering vector is on.')] : active.map((v) => `- ${escapeMarkdown(v.name)}: ${escapeMarkdown(vectorDescription(v))}`)),
    '',
    l10n.t('Click to open the Polyglot Lens panel.'),
  ];
  return { text: `$(globe) ${modelName} · ${steering}`, tooltip: tooltip.join('  \n').replace(/ {2}\n- /g, '\n- ') };
}

/** Strengths the engine accepts (SteeringSpec.strength). */
export const MAX_STRENGTH = 1000;

/** Parses a strength typed by the user; `error` says what is wrong (for an input box's validation). */
export function parseStrength(text: string): { value: number } | { error: string } {
  const t = text.trim().replace(/^×/, '').replace(',', '.');
  if (t === '') return { error: l10n.t('Type a number, e.g. 0.75.') };
  const value = Number(t);
  if (!Number.isFinite(value)) return { error: l10n.t('"{0}" is not a number.', text.trim()) };
  if (Math.abs(value) > MAX_STRENGTH) return { error: l10n.t('The strength must be between -{0} and {0}.', MAX_STRENGTH) };
  return { value };
}

/** Quick-pick rows for choosing a layer k = 0..L. */
export function layerChoices(numLayers: number, current: number, defaultLayer: number): { k: number; label: string; description: string }[] {
  return Array.from({ length: numLayers + 1 }, (_, k) => {
    const notes: string[] = [];
    if (k === 0) notes.push(l10n.t('embeddings'));
    if (k === numLayers) notes.push(l10n.t('last block'));
    if (k === current) notes.push(l10n.t('current'));
    if (k === defaultLayer) notes.push(l10n.t("the vector's default"));
    if (k < 2) notes.push(l10n.t('not exportable to llama.cpp'));
    return { k, label: l10n.t('k = {0}', k), description: notes.join(' · ') };
  });
}
