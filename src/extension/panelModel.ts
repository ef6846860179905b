/**
 * Maps the engine's analysis of a prompt onto the panel's view model (what the webview draws).
 *
 * Special tokens (the BOS the tokenizer adds) are left out of the picture: they are not part of what the
 * user wrote, and a BOS state is the same for every prompt, so its "nearest language" says nothing.
 * Free of `vscode` imports so it is unit-tested in plain Node.
 */
import type { Continuation, LayerAnalysis, PromptAnalysis, PromptInspection } from '../protocol/engine';
import type { ContinuationView, HeatmapCell, LanguageInfo, LayerView, PanelViewModel, VectorView } from '../webview/viewModel';
import { languageName } from './languageNames';

/** Whether the analysis can be drawn as a heatmap (it needs the model's language centroids). */
export function canShowPanel(analysis: PromptAnalysis): boolean {
  return analysis.centroids !== null && analysis.centroids.languages.length > 0 && analysis.layers.some((l) => l.nearest !== undefined);
}

/** The panel's view model for an analysis and the vector toggles to show next to it. */
export function toPanelViewModel(analysis: PromptAnalysis, vectors: VectorView[]): PanelViewModel {
  const codes = analysis.centroids?.languages ?? [];
  const languages: LanguageInfo[] = codes.map((code) => ({ code, name: languageName(code) }));
  const positions = analysis.tokens.flatMap((t, i) => (t.special === true ? [] : [i]));
  const vm: PanelViewModel = {
    model: { name: analysis.model.name, numLayers: analysis.model.numLayers, hiddenSize: analysis.model.hiddenSize },
    tokens: positions.map((i) => analysis.tokens[i]?.text ?? ''),
    languages,
    layers: mapLayers(analysis.layers, analysis.inspection, positions, codes),
    vectors,
  };
  const steered = analysis.steered;
  if (steered !== null && steered.layers.length === analysis.layers.length) {
    vm.steeredLayers = mapLayers(steered.layers, steered.inspection, positions, codes);
  }
  if (analysis.continuations !== null) {
    vm.continuations = {
      base: continuationView(analysis.continuations.base),
      ...(analysis.continuations.steered !== null ? { steered: continuationView(analysis.continuations.steered) } : {}),
    };
  }
  return vm;
}

function mapLayers(layers: readonly LayerAnalysis[], inspection: PromptInspection | undefined, positions: readonly number[], codes: readonly string[]): LayerView[] {
  return layers.map((layer, index) => {
    const cells: HeatmapCell[] = positions.map((p) => {
      const row = layer.similarity?.[p] ?? [];
      const similarities: Record<string, number> = {};
      codes.forEach((code, j) => {
        const v = row[j];
        if (v !== undefined) similarities[code] = v;
      });
      const nearest = layer.nearest?.[p] ?? codes[0] ?? 'und';
      return { nearest, similarity: similarities[nearest] ?? 0, similarities };
    });
    const promptSimilarity: Record<string, number> = {};
    for (const code of codes) {
      const values = cells.map((c) => c.similarities[code]).filter((v): v is number => v !== undefined);
      if (values.length > 0) promptSimilarity[code] = values.reduce((a, b) => a + b, 0) / values.length;
    }
    const view: LayerView = { k: layer.layer, cells, promptSimilarity };
    const lens = inspection?.lens?.[index];
    if (lens !== undefined) view.logitLens = positions.map((p) => (lens[p] ?? []).map((c) => ({ text: c.text, probability: c.probability })));
    const projection = inspection?.projections?.find((pr) => pr.layer === layer.layer);
    if (projection !== undefined) {
      view.projection = {
        explained: projection.explained,
        centroids: projection.centroids.filter((c) => codes.includes(c.language)),
        tokens: positions.map((p) => projection.tokens[p] ?? { x: 0, y: 0 }),
      };
    }
    return view;
  });
}

/**
 * Pieces of a continuation for the token-level diff: the engine's per-token texts when it sends them,
 * else words with their leading whitespace (and single characters in scripts written without spaces).
 */
export function continuationPieces(c: Continuation & { tokens?: string[] }): string[] {
  if (Array.isArray(c.tokens) && c.tokens.join('') === c.text) return c.tokens;
  return c.text.match(/\s*[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|\s*[^\s\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]+|\s+$/gu) ?? [];
}

function continuationView(c: Continuation): ContinuationView {
  return {
    text: c.text,
    tokens: continuationPieces(c),
    language: c.language ?? 'und',
    ...(c.confidence !== undefined ? { confidence: c.confidence } : {}),
  };
}
