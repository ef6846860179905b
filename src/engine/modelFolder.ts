/**
 * Finds and checks the files of a model folder before anything heavy is loaded, so a wrong path or a
 * half-downloaded model fails with a message that names the file and says what to do.
 *
 * Accepted layouts: `model.onnx` at the top (our own models), or `onnx/model.onnx` (Hugging Face Optimum /
 * transformers.js exports), each next to `config.json` and `tokenizer.json`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EngineError } from '../protocol/errors';

/** The fields of a Hugging Face `config.json` that the engine reads, normalised across naming schemes. */
export interface ModelConfig {
  architecture: string;
  name: string;
  hiddenSize: number;
  numLayers: number;
  vocabSize: number;
  numAttentionHeads: number | undefined;
  numKeyValueHeads: number | undefined;
  headDim: number | undefined;
  /** Longest sequence the model was built for, when config.json says. */
  maxPositions: number | undefined;
}

export interface ModelFiles {
  dir: string;
  configPath: string;
  tokenizerPath: string;
  /** tokenizer_config.json, when present (special-token settings for @huggingface/tokenizers). */
  tokenizerConfigPath: string | undefined;
  onnxPath: string;
}

const ONNX_CANDIDATES = ['model.onnx', path.join('onnx', 'model.onnx'), 'decoder_model_merged.onnx', path.join('onnx', 'decoder_model_merged.onnx')];

const SETTING_HINT = 'Point the setting polyglotLens.modelPath (or the CLI option --model) at a folder with config.json, tokenizer.json and model.onnx.';

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Locates the files of the model folder `dir`; throws MODEL_NOT_FOUND naming the first missing one. */
export async function findModelFiles(dir: string): Promise<ModelFiles> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new EngineError('MODEL_NOT_FOUND', `Model folder not found: ${dir}`, SETTING_HINT);
  }
  if (!stat.isDirectory()) throw new EngineError('MODEL_NOT_FOUND', `Not a folder: ${dir}`, SETTING_HINT);

  const missing: string[] = [];
  const configPath = path.join(dir, 'config.json');
  const tokenizerPath = path.join(dir, 'tokenizer.json');
  if (!(await isFile(configPath))) missing.push('config.json');
  if (!(await isFile(tokenizerPath))) missing.push('tokenizer.json');
  let onnxPath: string | undefined;
  for (const candidate of ONNX_CANDIDATES) {
    if (await isFile(path.join(dir, candidate))) {
      onnxPath = path.join(dir, candidate);
      break;
    }
  }
  if (onnxPath === undefined) missing.push('model.onnx (or onnx/model.onnx)');
  if (missing.length > 0 || onnxPath === undefined) {
    throw new EngineError('MODEL_NOT_FOUND', `The model folder ${dir} has no ${missing.join(', no ')}.`, SETTING_HINT);
  }
  const tokenizerConfigPath = path.join(dir, 'tokenizer_config.json');
  return { dir, configPath, tokenizerPath, tokenizerConfigPath: (await isFile(tokenizerConfigPath)) ? tokenizerConfigPath : undefined, onnxPath };
}

/** Reads and parses a JSON file; a parse failure is MODEL_INVALID naming the file. */
export async function readJsonFile(file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new EngineError('MODEL_INVALID', `${file} is not valid JSON (${(err as Error).message}).`, 'Re-download or re-export the model.', { cause: err });
  }
}

function positiveInt(raw: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const v = raw[key];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  }
  return undefined;
}

/**
 * Normalises a Hugging Face config.json. Accepts the Llama/Qwen names (`hidden_size`, `num_hidden_layers`)
 * and the GPT-2 ones (`n_embd`, `n_layer`); `text_config` (multimodal wrappers) is looked into as well.
 */
export function parseModelConfig(json: unknown, file: string, folderName: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new EngineError('MODEL_INVALID', `${file} must contain a JSON object.`, 'Use the config.json exported with the model.');
  }
  let raw = json as Record<string, unknown>;
  const text = raw['text_config'];
  if (typeof text === 'object' && text !== null && !Array.isArray(text) && positiveInt(raw, ['hidden_size', 'n_embd', 'd_model']) === undefined) {
    raw = { ...raw, ...(text as Record<string, unknown>) };
  }
  const hiddenSize = positiveInt(raw, ['hidden_size', 'n_embd', 'd_model']);
  const numLayers = positiveInt(raw, ['num_hidden_layers', 'n_layer', 'num_layers']);
  const vocabSize = positiveInt(raw, ['vocab_size']);
  const absent = [
    hiddenSize === undefined ? 'hidden_size' : undefined,
    numLayers === undefined ? 'num_hidden_layers' : undefined,
    vocabSize === undefined ? 'vocab_size' : undefined,
  ].filter((x): x is string => x !== undefined);
  if (hiddenSize === undefined || numLayers === undefined || vocabSize === undefined) {
    throw new EngineError('MODEL_INVALID', `${file} has no positive integer ${absent.join(', ')}.`, 'A decoder config.json names its hidden size, layer count and vocabulary size.');
  }
  const numAttentionHeads = positiveInt(raw, ['num_attention_heads', 'n_head']);
  const nameOrPath = raw['_name_or_path'];
  const modelType = raw['model_type'];
  return {
    architecture: typeof modelType === 'string' && modelType !== '' ? modelType : 'unknown',
    name: typeof nameOrPath === 'string' && nameOrPath !== '' ? nameOrPath : folderName,
    hiddenSize,
    numLayers,
    vocabSize,
    numAttentionHeads,
    numKeyValueHeads: positiveInt(raw, ['num_key_value_heads']) ?? numAttentionHeads,
    headDim: positiveInt(raw, ['head_dim']) ?? (numAttentionHeads !== undefined ? hiddenSize / numAttentionHeads : undefined),
    maxPositions: positiveInt(raw, ['max_position_embeddings', 'n_positions', 'n_ctx']),
  };
}

/**
 * Checks the first bytes of an .onnx file (like Netron does) so that a Git LFS pointer, an HTML error page
 * or an empty file is reported as such instead of as an obscure protobuf parse error from onnxruntime.
 */
export async function checkOnnxSignature(file: string): Promise<void> {
  const handle = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(64);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    const text = head.subarray(0, bytesRead).toString('latin1');
    if (bytesRead === 0) throw new EngineError('MODEL_INVALID', `${file} is empty.`, 'Re-download or re-export the model.');
    if (text.startsWith('version https://git-lfs')) {
      throw new EngineError('MODEL_INVALID', `${file} is a Git LFS pointer, not the model itself.`, 'Run `git lfs pull` in the model repository, or download the file directly.');
    }
    // A ModelProto starts with a field key: ir_version (field 1, varint: 0x08) in every exporter we know;
    // any other protobuf key byte is tolerated, but text (HTML, JSON) is not.
    const first = head[0] ?? 0;
    if (first === 0x3c /* < */ || first === 0x7b /* { */) {
      throw new EngineError('MODEL_INVALID', `${file} is text (${JSON.stringify(text.slice(0, 20))}…), not an ONNX model.`, 'Re-download the model: the download probably saved an error page.');
    }
  } finally {
    await handle.close();
  }
}
