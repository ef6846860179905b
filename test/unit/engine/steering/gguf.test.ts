import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { gguf } from '@huggingface/gguf';
import { GgufExportError, VectorFileError } from '../../../../src/engine/steering/errors.js';
import {
  parseGguf,
  parseGgufControlVector,
  serializeGgufControlVector,
  steeringVectorFromGguf,
  steeringVectorToGguf,
  writeGgufVectorFile,
} from '../../../../src/engine/steering/gguf.js';
import { createSteeringVector } from '../../../../src/engine/steering/vector.js';

/** Little-endian byte builder for hand-written expected files (independent of the writer under test). */
class Bytes {
  readonly b: number[] = [];
  u32(v: number): this { for (let i = 0; i < 4; i++) this.b.push((v >>> (8 * i)) & 0xff); return this; }
  i32(v: number): this { return this.u32(v >>> 0); }
  u64(v: number): this { this.u32(v % 2 ** 32); this.u32(Math.floor(v / 2 ** 32)); return this; }
  u8(v: number): this { this.b.push(v); return this; }
  str(s: string): this { const e = new TextEncoder().encode(s); this.u64(e.length); this.b.push(...e); return this; }
  f32s(v: Float32Array): this { this.b.push(...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)); return this; }
  padTo(a: number): this { while (this.b.length % a) this.b.push(0); return this; }
  get bytes(): Uint8Array { return Uint8Array.from(this.b); }
}

function ramp(n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => scale * (i - n / 2) / n);
}

function expectFileError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VectorFileError, `expected VectorFileError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** A control vector written by hand: header fields given explicitly so tests can corrupt them. */
function handCv(opts: {
  version?: number; layerCountType?: number; layerCount?: number; arch?: string | null; names?: string[]; n?: number; types?: number[];
  offsets?: number[]; dimsOverride?: number[][];
} = {}): Uint8Array {
  const names = opts.names ?? ['direction.1', 'direction.2'];
  const n = opts.n ?? 8;
  const w = new Bytes();
  const kvs: Array<(w: Bytes) => void> = [];
  if (opts.arch !== null) kvs.push((w) => w.str('general.architecture').u32(8).str(opts.arch ?? 'controlvector'));
  kvs.push((w) => w.str('controlvector.model_hint').u32(8).str('llama'));
  const lct = opts.layerCountType ?? 4;
  kvs.push((w) => {
    w.str('controlvector.layer_count').u32(lct);
    const v = opts.layerCount ?? names.length;
    if (lct === 4) w.u32(v); else if (lct === 5) w.i32(v); else if (lct === 10) w.u64(v); else if (lct === 0) w.u8(v); else if (lct === 8) w.str(String(v));
  });
  w.u32(0x46554747).u32(opts.version ?? 3).u64(names.length).u64(kvs.length);
  for (const kv of kvs) kv(w);
  const tensorBytes = Math.ceil((n * 4) / 32) * 32;
  names.forEach((name, i) => {
    const dims = opts.dimsOverride?.[i] ?? [n];
    w.str(name).u32(dims.length);
    for (const d of dims) w.u64(d);
    w.u32(opts.types?.[i] ?? 0).u64(opts.offsets?.[i] ?? i * tensorBytes);
  });
  w.padTo(32);
  names.forEach((_, i) => w.f32s(ramp(n, i + 1)).padTo(32));
  return w.bytes;
}

describe('GGUF control-vector writer', () => {
  it('writes the FORMATS.md worked example byte for byte (qwen2, layers {1,2}, n_embd 896)', () => {
    const d1 = ramp(896, 1);
    const d2 = ramp(896, -3);
    const expected = new Bytes()
      .u8(0x47).u8(0x47).u8(0x55).u8(0x46).u32(3).u64(2).u64(3)
      .str('general.architecture').u32(8).str('controlvector')
      .str('controlvector.model_hint').u32(8).str('qwen2')
      .str('controlvector.layer_count').u32(4).u32(2)
      .str('direction.1').u32(1).u64(896).u32(0).u64(0)
      .str('direction.2').u32(1).u64(896).u32(0).u64(3584)
      .padTo(32).f32s(d1).f32s(d2);
    assert.equal(expected.b.length, 256 + 2 * 3584); // 253 header bytes padded to 256
    const out = serializeGgufControlVector({ modelHint: 'qwen2', directions: new Map([[2, d2], [1, d1]]) });
    assert.deepEqual([...out], expected.b);
    // The same bytes through our own vector type: our k = b + 1, no strength baked, no provenance keys.
    const v = createSteeringVector({ directions: new Map([[2, d1], [3, d2]]), modelHint: 'qwen2' });
    const res = steeringVectorToGguf(v, { provenance: false, bake: 'none' });
    assert.deepEqual([...res.bytes], expected.b);
    assert.deepEqual([...res.written], [[2, 1], [3, 2]]);
  });

  it('pads each tensor to the 32-byte alignment when n_embd·4 is not a multiple of 32', () => {
    const out = serializeGgufControlVector({ modelHint: 'llama', directions: new Map([[3, ramp(5, 1)], [4, ramp(5, 2)]]) });
    const g = parseGguf(out);
    assert.equal(g.dataStart % 32, 0);
    assert.deepEqual(g.tensors.map((t) => t.offset), [0, 32]);
    assert.equal(out.length, g.dataStart + 64);
  });

  it('never writes direction.0', () => {
    assert.throws(() => serializeGgufControlVector({ modelHint: 'llama', directions: new Map([[0, ramp(4, 1)]]) }), GgufExportError);
  });

  it('refuses our layers 0 (embeddings) and 1 (would be direction.0) unless asked to skip them', () => {
    const v = createSteeringVector({ directions: new Map([[0, ramp(4, 1)], [1, ramp(4, 2)], [3, ramp(4, 3)]]), modelHint: 'llama' });
    assert.throws(() => steeringVectorToGguf(v), (err: unknown) => err instanceof GgufExportError && /Layer\(s\) 0, 1 cannot be exported.*direction\.0, which llama\.cpp rejects/.test(err.message));
    const res = steeringVectorToGguf(v, { skipUnrepresentable: true });
    assert.deepEqual(res.dropped, [0, 1]);
    const cv = parseGgufControlVector(res.bytes);
    assert.deepEqual([...cv.directions.keys()], [2]);
    const only1 = createSteeringVector({ directions: new Map([[1, ramp(4, 1)]]) });
    assert.throws(() => steeringVectorToGguf(only1, { skipUnrepresentable: true }), /No exportable layers/);
  });

  it('bakes the default strength so llama.cpp scale 1 reproduces it', () => {
    const d = Float32Array.from([3, 4]); // norm 5
    const v = createSteeringVector({ directions: new Map([[4, d]]), meanActivationNorms: { 4: 20 }, defaultStrength: 0.5, defaultStrengthUnit: 'activationNorm' });
    const res = steeringVectorToGguf(v);
    const got = parseGgufControlVector(res.bytes).directions.get(3)!;
    // α·m·v̂ = 0.5·20·(0.6, 0.8) = (6, 8)
    assert.deepEqual([...got], [6, 8]);
    assert.equal(res.coefficients.get(4), 2);
    assert.deepEqual([...parseGgufControlVector(steeringVectorToGguf(v, { bake: 'none' }).bytes).directions.get(3)!], [3, 4]);
  });
});

describe('GGUF files read by an independent parser (@huggingface/gguf)', () => {
  it('reads our tensor names, shapes, metadata and data', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pl-gguf-'));
    try {
      const d = 24;
      const dirs = new Map([[3, ramp(d, 1)], [5, ramp(d, -2)], [12, ramp(d, 0.5)]]);
      const v = createSteeringVector({ directions: dirs, modelHint: 'qwen2', method: 'diffmean', sourceLanguage: 'fr', targetLanguage: 'en', numPairs: 500 });
      const file = path.join(dir, 'fr-en.gguf');
      await writeGgufVectorFile(file, v, { bake: 'none' });
      assert.deepEqual((await fs.readdir(dir)).sort(), ['fr-en.gguf'], 'no temp file left behind');
      const parsed = await gguf(file, { allowLocalFile: true });
      const md = parsed.metadata as unknown as Record<string, unknown>;
      assert.equal(md['version'], 3);
      assert.equal(md['general.architecture'], 'controlvector');
      assert.equal(md['controlvector.model_hint'], 'qwen2');
      assert.equal(md['controlvector.layer_count'], 3);
      assert.equal(md['polyglot_lens.source_language'], 'fr');
      assert.equal(md['polyglot_lens.num_pairs'], 500);
      assert.deepEqual(parsed.tensorInfos.map((t) => t.name), ['direction.2', 'direction.4', 'direction.11']);
      for (const t of parsed.tensorInfos) {
        assert.deepEqual(t.shape, [BigInt(d)]);
        assert.equal(t.dtype, 0);
      }
      // Locate the data with the independent parser's offsets and compare values.
      const buf = await fs.readFile(file);
      for (const t of parsed.tensorInfos) {
        const start = Number(parsed.tensorDataOffset) + Number(t.offset);
        const k = Number(t.name.split('.')[1]) + 1;
        const got = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + start + d * 4));
        assert.deepEqual([...got], [...dirs.get(k)!]);
      }
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('GGUF control-vector reader', () => {
  it('reads a hand-written v3 file and maps direction.b to our k = b + 1', () => {
    const res = steeringVectorFromGguf(handCv(), 'cv.gguf');
    assert.deepEqual([...res.vector.directions.keys()], [2, 3]);
    assert.deepEqual([...res.vector.directions.get(3)!], [...ramp(8, 2)]);
    assert.equal(res.vector.metadata.modelHint, 'llama');
    assert.equal(res.vector.metadata.hiddenSize, 8);
    assert.equal(res.vector.metadata.method, 'imported');
    assert.equal(res.vector.metadata.defaultStrengthUnit, 'raw');
    assert.deepEqual(res.warnings, []);
  });

  it('accepts v2 and layer_count of any integer type', () => {
    assert.equal(parseGgufControlVector(handCv({ version: 2 })).version, 2);
    assert.equal(parseGgufControlVector(handCv({ layerCountType: 5, layerCount: 2 })).layerCount, 2); // i32 (llama.cpp)
    assert.equal(parseGgufControlVector(handCv({ layerCountType: 10, layerCount: 2 })).layerCount, 2); // u64
    assert.equal(parseGgufControlVector(handCv({ layerCountType: 0, layerCount: 2 })).layerCount, 2); // u8
    expectFileError(() => parseGgufControlVector(handCv({ layerCountType: 8 })), /layer_count has type STRING, expected an integer/);
  });

  it('warns on direction.0 (llama.cpp would reject the file) and reads it as our k = 1', () => {
    const res = steeringVectorFromGguf(handCv({ names: ['direction.0', 'direction.4'] }));
    assert.deepEqual([...res.vector.directions.keys()], [1, 5]);
    assert.ok(res.warnings.some((w) => /direction\.0 present: llama\.cpp rejects/.test(w)), res.warnings.join('; '));
  });

  it('round-trips our export (provenance keys included)', () => {
    const v = createSteeringVector({ directions: new Map([[6, ramp(16, 1)]]), modelHint: 'qwen2', method: 'pca', sourceLanguage: 'de', targetLanguage: 'en', modelHash: 'abc123', numPairs: 7 });
    const back = steeringVectorFromGguf(steeringVectorToGguf(v, { bake: 'none' }).bytes).vector;
    assert.deepEqual([...back.directions.keys()], [6]);
    assert.deepEqual([...back.directions.get(6)!], [...v.directions.get(6)!]);
    assert.equal(back.metadata.sourceLanguage, 'de');
    assert.equal(back.metadata.modelHash, 'abc123');
    assert.equal(back.metadata.numPairs, 7);
    assert.equal(back.metadata.defaultLayer, 6);
  });

  it('rejects files that are not GGUF, or not control vectors', () => {
    expectFileError(() => parseGguf(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0]), 'x.png'), /^x\.png: does not start with the GGUF magic "GGUF" \(47 47 55 46\); found 89 50 4e 47/);
    expectFileError(() => parseGguf(handCv({ version: 1 })), /GGUF version 1/);
    expectFileError(() => parseGguf(handCv({ version: 0x03000000 })), /unsupported GGUF version .*big-endian/);
    expectFileError(() => parseGgufControlVector(handCv({ arch: 'llama' })), /architecture "llama", not a control vector/);
    const noArch = parseGgufControlVector(handCv({ arch: null }));
    assert.ok(noArch.warnings.some((w) => /general\.architecture is missing/.test(w)));
  });

  it('bounds-checks every length before allocating', () => {
    const good = handCv();
    // Truncated anywhere in the header or data.
    for (const cut of [3, 10, 30, 60, 100, 200, good.length - 1]) {
      assert.throws(() => parseGgufControlVector(good.subarray(0, cut)), VectorFileError, `cut at ${cut}`);
    }
    // A key length of 2^40 bytes.
    const hugeKey = good.slice();
    new DataView(hugeKey.buffer).setBigUint64(24, 1n << 40n, true);
    expectFileError(() => parseGguf(hugeKey), /metadata key #0 \(1099511627776-byte string\) needs 1099511627776 bytes but only \d+ remain/);
    // A tensor count of 2^60 and a value above MAX_SAFE_INTEGER.
    const manyTensors = good.slice();
    new DataView(manyTensors.buffer).setBigUint64(8, 1n << 50n, true);
    expectFileError(() => parseGguf(manyTensors), /tensor count \d+ cannot fit/);
    const unsafe = good.slice();
    new DataView(unsafe.buffer).setBigUint64(8, 1n << 60n, true);
    expectFileError(() => parseGguf(unsafe), /tensor count \d+ is larger than any file/);
    // An array claiming 2^40 elements.
    const w = new Bytes().u32(0x46554747).u32(3).u64(0).u64(1).str('a').u32(9).u32(4).u64(2 ** 40);
    expectFileError(() => parseGguf(w.bytes), /array of 1099511627776 elements cannot fit/);
  });

  it('rejects malformed direction tensors with messages naming the problem', () => {
    expectFileError(() => parseGgufControlVector(handCv({ types: [0, 1] })), /tensor "direction\.2" has type F16, expected F32/);
    expectFileError(() => parseGgufControlVector(handCv({ offsets: [0, 16] })), /offset 16 is not a multiple of the alignment 32/);
    expectFileError(() => parseGgufControlVector(handCv({ offsets: [0, 4096] })), /data \[\d+, \d+\) runs past the end/);
    expectFileError(() => parseGgufControlVector(handCv({ dimsOverride: [[8], [4]] })), /has length 4 but earlier directions have 8/);
    expectFileError(() => parseGgufControlVector(handCv({ dimsOverride: [[8], [4, 2]] })), /shape \[4, 2\]; a control-vector direction must be 1-D/);
    expectFileError(() => parseGgufControlVector(handCv({ names: ['direction.1', 'direction.1'] })), /duplicate tensor name "direction\.1"/);
    const other = parseGgufControlVector(handCv({ names: ['direction.1', 'bias.2'] }));
    assert.ok(other.warnings.some((w) => /"bias\.2" is not a direction/.test(w)));
  });
});
