/**
 * Model folder loading: config.json, the tokenizer, the ONNX file (model.onnx, or onnx/model*.onnx in the
 * transformers.js layout, quantized variants by option), external data files and the optional locator
 * override (polyglot-lens.json).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCATOR_OVERRIDE_FILE, ModelFolderError } from './errors';
import type { LocatorOverride } from './locator';
import { externalDataLocations, externalDataOf, forEachGraph, type ModelProto } from './onnxProto';
import { readJsonObject, TextTokenizer } from './tokenizer';

/** The config.json fields the engine uses, under one naming whatever the architecture calls them. */
export interface ModelConfig {
  modelType: string | null;
  numLayers: number; // decoder blocks L
  hiddenSize: number; // H
  numAttentionHeads: number | null;
  numKeyValueHeads: number | null;
  headDim: number | null;
  vocabSize: number | null;
  maxPositionEmbeddings: number | null;
  bosTokenId: number | null;
  eosTokenIds: number[];
  tieWordEmbeddings: boolean | null;
}

/** A model folder, checked and ready for surgery. */
export interface ModelFolder {
  dir: string; // absolute
  onnxPath: string; // absolute path of the chosen ONNX file
  onnxVariant: string; // "fp32" for model.onnx, else the suffix: "q4", "quantized", "fp16", ...
  config: ModelConfig;
  rawConfig: Record<string, unknown>;
  tokenizer: TextTokenizer;
  override: LocatorOverride | null;
  overrideText: string | null; // the override file's text (part of the surgery cache key)
  stopTokenIds: number[]; // EOS ids from config.json, generation_config.json and tokenizer_config.json
}

/** Which ONNX file of a folder to use. */
export interface ModelFolderOptions {
  /** ONNX variant: "fp32" (default: model.onnx) or a transformers.js suffix such as "q4", "quantized", "fp16". */
  variant?: string;
  /** An explicit ONNX file, relative to the folder; overrides `variant`. */
  onnxFile?: string;
}

/** Loads and checks a model folder; throws ModelFolderError saying what is missing or broken. */
export function loadModelFolder(dirIn: string, options: ModelFolderOptions = {}): ModelFolder {
  const dir = path.resolve(dirIn);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new ModelFolderError(`Model folder ${dir} does not exist or is not a folder.`);
  }
  const configFile = path.join(dir, 'config.json');
  if (!fs.existsSync(configFile)) {
    throw new ModelFolderError(
      `${dir} has no config.json. A model folder holds config.json, tokenizer.json and model.onnx (or onnx/model.onnx) ` +
        'as Hugging Face Optimum and transformers.js export them.',
    );
  }
  const rawConfig = readJsonObject(configFile, 'config.json');
  const config = parseConfig(rawConfig, configFile);
  const { onnxPath, variant } = pickOnnxFile(dir, options);
  const tokenizer = TextTokenizer.fromFolder(dir);
  const { override, text: overrideText } = readOverride(dir);

  const stop = new Set<number>(config.eosTokenIds);
  const genFile = path.join(dir, 'generation_config.json');
  if (fs.existsSync(genFile)) for (const id of idList(readJsonObject(genFile, 'generation_config.json').eos_token_id)) stop.add(id);
  if (tokenizer.eosTokenId !== null) stop.add(tokenizer.eosTokenId);

  return {
    dir,
    onnxPath,
    onnxVariant: variant,
    config,
    rawConfig,
    tokenizer,
    override,
    overrideText,
    stopTokenIds: [...stop].sort((a, b) => a - b),
  };
}

/** Normalises config.json (Llama/Qwen/Gemma/Phi/GPT-2 names; multimodal text_config); checks L and H. */
export function parseConfig(raw: Record<string, unknown>, where = 'config.json'): ModelConfig {
  // Multimodal configs keep the language model's fields under text_config.
  const text = raw.text_config && typeof raw.text_config === 'object' ? (raw.text_config as Record<string, unknown>) : null;
  const get = (...keys: string[]): unknown => {
    for (const src of [raw, text]) {
      if (!src) continue;
      for (const k of keys) if (src[k] !== undefined && src[k] !== null) return src[k];
    }
    return undefined;
  };
  const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
  const numLayers = int(get('num_hidden_layers', 'n_layer', 'num_layers', 'n_layers'));
  const hiddenSize = int(get('hidden_size', 'n_embd', 'd_model', 'dim'));
  if (numLayers === null || hiddenSize === null) {
    throw new ModelFolderError(
      `${where} must give the number of layers (num_hidden_layers) and the hidden size (hidden_size) as positive integers; ` +
        `found num_hidden_layers=${JSON.stringify(get('num_hidden_layers', 'n_layer'))}, hidden_size=${JSON.stringify(get('hidden_size', 'n_embd'))}.`,
    );
  }
  const modelType = get('model_type');
  const tie = get('tie_word_embeddings');
  return {
    modelType: typeof modelType === 'string' ? modelType : null,
    numLayers,
    hiddenSize,
    numAttentionHeads: int(get('num_attention_heads', 'n_head')),
    numKeyValueHeads: int(get('num_key_value_heads', 'num_attention_heads', 'n_head')),
    headDim: int(get('head_dim')),
    vocabSize: int(get('vocab_size')),
    maxPositionEmbeddings: int(get('max_position_embeddings', 'n_positions')),
    bosTokenId: int(get('bos_token_id')) ?? (get('bos_token_id') === 0 ? 0 : null),
    eosTokenIds: idList(get('eos_token_id')),
    tieWordEmbeddings: typeof tie === 'boolean' ? tie : null,
  };
}

function idList(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0);
  return [];
}

const ONNX_BASENAMES = ['model', 'decoder_model_merged'];

/** Chooses the ONNX file: model.onnx / onnx/model.onnx for fp32, model_{variant}.onnx otherwise. */
function pickOnnxFile(dir: string, options: ModelFolderOptions): { onnxPath: string; variant: string } {
  if (options.onnxFile) {
    const p = path.resolve(dir, options.onnxFile);
    if (!fs.existsSync(p)) throw new ModelFolderError(`The ONNX file ${p} named in the settings does not exist.`);
    const base = path.basename(p, '.onnx');
    const m = /^(?:model|decoder_model_merged)_(.+)$/.exec(base);
    return { onnxPath: p, variant: m?.[1] ?? 'fp32' };
  }
  const variant = options.variant && options.variant !== 'fp32' ? options.variant : null;
  for (const sub of ['', 'onnx']) {
    for (const base of ONNX_BASENAMES) {
      const p = path.join(dir, sub, variant ? `${base}_${variant}.onnx` : `${base}.onnx`);
      if (fs.existsSync(p)) return { onnxPath: p, variant: variant ?? 'fp32' };
    }
  }
  const available = listOnnxFiles(dir);
  const variants = available
    .map((f) => /(?:^|\/)(?:model|decoder_model_merged)(?:_(.+))?\.onnx$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => m[1] ?? 'fp32');
  const wanted = variant ? `model_${variant}.onnx (the "${variant}" variant)` : 'model.onnx';
  throw new ModelFolderError(
    `${dir} has no ${wanted}, neither at the top nor in onnx/. ` +
      (available.length > 0
        ? `ONNX files found: ${available.join(', ')}. Choose one of the variants ${[...new Set(variants)].join(', ') || '(none recognised)'} in the model settings.`
        : 'Export the model with Hugging Face Optimum (optimum-cli export onnx --task text-generation-with-past) or download a transformers.js (onnx-community) export.'),
  );
}

function listOnnxFiles(dir: string): string[] {
  const out: string[] = [];
  for (const sub of ['', 'onnx']) {
    const d = path.join(dir, sub);
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) continue;
    for (const f of fs.readdirSync(d)) if (f.endsWith('.onnx')) out.push(sub ? `${sub}/${f}` : f);
  }
  return out.sort();
}

/** Reads polyglot-lens.json when present: {"residualStream": {"tensors": [...]}}. */
function readOverride(dir: string): { override: LocatorOverride | null; text: string | null } {
  const file = path.join(dir, LOCATOR_OVERRIDE_FILE);
  if (!fs.existsSync(file)) return { override: null, text: null };
  const json = readJsonObject(file, LOCATOR_OVERRIDE_FILE);
  const rs = json.residualStream;
  if (rs === undefined) return { override: null, text: fs.readFileSync(file, 'utf8') };
  const tensors = rs && typeof rs === 'object' ? (rs as { tensors?: unknown }).tensors : undefined;
  const valid =
    Array.isArray(tensors) &&
    tensors.every(
      (t) => typeof t === 'string' || (!!t && typeof t === 'object' && typeof (t as { node?: unknown }).node === 'string'),
    );
  if (!valid) {
    throw new ModelFolderError(
      `${file}: residualStream.tensors must be a list of tensor names (or {"node": name} for a fused Skip*LayerNormalization sum), ` +
        'one per layer k = 0..L.',
    );
  }
  return { override: { tensors: tensors as Array<string | { node: string }> }, text: fs.readFileSync(file, 'utf8') };
}

/** Checks that every external data file a model references exists beside it and is long enough. */
export function checkExternalData(model: ModelProto, modelDir: string, modelName: string): string[] {
  const files = externalDataLocations(model);
  const sizes = new Map<string, number>();
  for (const loc of files) {
    if (path.isAbsolute(loc) || loc.split(/[\\/]/).includes('..')) {
      throw new ModelFolderError(`${modelName} names external data "${loc}" outside its folder; onnxruntime refuses such paths.`);
    }
    const p = path.join(modelDir, loc);
    if (!fs.existsSync(p)) {
      throw new ModelFolderError(
        `${modelName} keeps its weights in the external data file "${loc}", which is missing from ${modelDir}. ` +
          'Download it too (for model.onnx it is usually model.onnx_data or model.onnx.data).',
      );
    }
    sizes.set(loc, fs.statSync(p).size);
  }
  forEachGraph(model.graph, (g) => {
    for (const t of g.initializer) {
      const ext = externalDataOf(t);
      if (!ext || ext.length === null) continue;
      const size = sizes.get(ext.location) ?? 0;
      if (ext.offset + ext.length > size) {
        throw new ModelFolderError(
          `The external data file "${ext.location}" is shorter (${size} bytes) than tensor ${t.name} needs ` +
            `(${ext.offset + ext.length}); the download is probably incomplete.`,
        );
      }
    }
  });
  return files.map((f) => path.join(modelDir, f));
}

/** sha256 (hex) of a file, streamed. */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = crypto.createHash('sha256');
    fs.createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
