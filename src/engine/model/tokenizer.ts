/**
 * The model's tokenizer: `tokenizer.json` through @huggingface/tokenizers, plus what tokenizer_config.json
 * adds (BOS/EOS, add_bos_token, chat template).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { errorText } from './onnxProto';
import { ModelFolderError } from './errors';

/** Token ids and their token strings for one text. */
export interface Encoded {
  ids: number[];
  tokens: string[];
}

/** What tokenizer_config.json says that the engine uses. */
export interface TokenizerSettings {
  bosToken: string | null;
  eosToken: string | null;
  addBosToken: boolean | null; // null: leave it to tokenizer.json's post-processor
  chatTemplate: string | null; // the default template when several are given
}

/** A loaded tokenizer with the model's special tokens. */
export class TextTokenizer {
  readonly settings: TokenizerSettings;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly vocabSize: number;
  private readonly tokenizer: Tokenizer;

  constructor(tokenizerJson: object, tokenizerConfig: Record<string, unknown>) {
    this.tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
    this.settings = readTokenizerSettings(tokenizerConfig);
    this.bosTokenId = this.settings.bosToken !== null ? (this.tokenizer.token_to_id(this.settings.bosToken) ?? null) : null;
    this.eosTokenId = this.settings.eosToken !== null ? (this.tokenizer.token_to_id(this.settings.eosToken) ?? null) : null;
    this.vocabSize = this.tokenizer.get_vocab(true).size;
  }

  /** Loads tokenizer.json (required) and tokenizer_config.json (optional) from a model folder. */
  static fromFolder(dir: string): TextTokenizer {
    const tokFile = path.join(dir, 'tokenizer.json');
    if (!fs.existsSync(tokFile)) {
      throw new ModelFolderError(
        `${dir} has no tokenizer.json. Copy it from the model's Hugging Face repository (transformers.js and Optimum exports include it).`,
      );
    }
    const json = readJsonObject(tokFile, 'tokenizer.json');
    const cfgFile = path.join(dir, 'tokenizer_config.json');
    const config = fs.existsSync(cfgFile) ? readJsonObject(cfgFile, 'tokenizer_config.json') : {};
    try {
      return new TextTokenizer(json, config);
    } catch (err) {
      throw new ModelFolderError(`${tokFile} could not be loaded as a tokenizer: ${errorText(err)}`, { cause: err });
    }
  }

  /** Token ids of a text; with addSpecialTokens (default) the post-processor's BOS etc. are included. */
  encode(text: string, options: { addSpecialTokens?: boolean } = {}): Encoded {
    const add = options.addSpecialTokens ?? true;
    const enc = this.tokenizer.encode(text, { add_special_tokens: add });
    const ids = enc.ids.slice();
    const tokens = enc.tokens.slice();
    // tokenizer_config's add_bos_token is honoured when the post-processor does not add the BOS itself
    // (older Llama-style exports rely on the Python tokenizer class for it).
    if (add && this.settings.addBosToken === true && this.bosTokenId !== null && ids[0] !== this.bosTokenId) {
      ids.unshift(this.bosTokenId);
      tokens.unshift(this.settings.bosToken ?? '');
    }
    return { ids, tokens };
  }

  /** Text of token ids; special tokens are kept unless skipSpecialTokens. */
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean } = {}): string {
    return this.tokenizer.decode(ids.slice(), { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /** The vocabulary string of one token id (e.g. "Ġthe"), or null when out of range. */
  idToToken(id: number): string | null {
    return this.tokenizer.id_to_token(id) ?? null;
  }

  /** The id of a vocabulary string, or null. */
  tokenToId(token: string): number | null {
    return this.tokenizer.token_to_id(token) ?? null;
  }
}

/**
 * Turns a stream of token ids into text deltas. Byte-level BPE splits a multi-byte character across
 * tokens, so decoding tokens one by one would print replacement characters: this decodes the whole
 * sequence and holds back a trailing U+FFFD until the next token completes the character.
 */
export class StreamingDecoder {
  private readonly ids: number[] = [];
  private emitted = '';
  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly skipSpecialTokens = true,
  ) {}

  /** Adds a token; returns the text it completes (possibly ''). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tokenizer.decode(this.ids, { skipSpecialTokens: this.skipSpecialTokens });
    if (text.endsWith('\uFFFD')) return '';
    const delta = text.startsWith(this.emitted) ? text.slice(this.emitted.length) : text;
    this.emitted = text;
    return delta;
  }

  /** All text so far. */
  get text(): string {
    return this.emitted;
  }
}

function readTokenizerSettings(cfg: Record<string, unknown>): TokenizerSettings {
  return {
    bosToken: tokenContent(cfg.bos_token),
    eosToken: tokenContent(cfg.eos_token),
    addBosToken: typeof cfg.add_bos_token === 'boolean' ? cfg.add_bos_token : null,
    chatTemplate: chatTemplateOf(cfg.chat_template),
  };
}

// Special tokens appear as plain strings or as serialized AddedToken objects ({"content": ...}).
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') {
    return (v as { content: string }).content;
  }
  return null;
}

// chat_template is a string or a list of {name, template}; the one named "default" wins.
function chatTemplateOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const named = v.filter(
      (x): x is { name: string; template: string } =>
        !!x && typeof x === 'object' && typeof (x as { template?: unknown }).template === 'string',
    );
    return (named.find((x) => x.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

/** Reads a JSON file that must hold an object; errors name the file and say what is wrong. */
export function readJsonObject(file: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ModelFolderError(`Cannot read ${what} (${file}): ${errorText(err)}`, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ModelFolderError(`${what} (${file}) is not valid JSON: ${errorText(err)}. Re-download or fix the file.`, { cause: err });
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelFolderError(`${what} (${file}) must hold a JSON object.`);
  }
  return value as Record<string, unknown>;
}
