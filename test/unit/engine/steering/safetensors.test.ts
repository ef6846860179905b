import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VectorFileError } from '../../../../src/engine/steering/errors.js';
import { bf16ToNumber, f16ToNumber } from '../../../../src/engine/float16.js';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../../../../src/engine/steering/safetensors.js';

const enc = new TextEncoder();

/** Builds a safetensors file by hand: u64 header length + header text (unpadded unless given) + data. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Uint8Array {
  const h = enc.encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, declaredLength ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function expectFileError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VectorFileError, `expected VectorFileError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

// The reference implementation's serialization test: tensor attn.0, F32, shape [1,2,3], values 0..5.
const GOLDEN_HEADER = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
const GOLDEN_DATA = [0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64];
const GOLDEN = Uint8Array.from([0x40, 0, 0, 0, 0, 0, 0, 0, ...enc.encode(GOLDEN_HEADER), ...GOLDEN_DATA]);

describe('safetensors writer', () => {
  it('reproduces the reference implementation golden bytes exactly', () => {
    assert.equal(GOLDEN_HEADER.length, 64);
    const out = serializeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) }]);
    assert.deepEqual([...out], [...GOLDEN]);
  });

  it('pads the header with spaces to a multiple of 8 and puts __metadata__ first', () => {
    const out = serializeSafetensors([{ name: 'b', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }], { z: '1', a: 'x"y' });
    const n = Number(new DataView(out.buffer).getBigUint64(0, true));
    assert.equal((8 + n) % 8, 0);
    const text = new TextDecoder().decode(out.subarray(8, 8 + n));
    assert.ok(text.startsWith('{"__metadata__":{"a":"x\\"y","z":"1"},"b":{'), text);
    assert.match(text, /} *$/);
    assert.equal(out.length, 8 + n + 4);
  });

  it('orders wider dtypes first, then by name, with contiguous offsets', () => {
    const out = serializeSafetensors([
      { name: 'h', dtype: 'F16', shape: [1], data: Uint8Array.from([0, 0x3c]) },
      { name: 'b', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
      { name: 'a', dtype: 'F32', shape: [1], data: Float32Array.from([3]) },
      { name: 'd', dtype: 'F64', shape: [1], data: Float64Array.from([4]) },
    ]);
    const f = parseSafetensors(out);
    assert.deepEqual(f.tensors.map((t) => [t.name, t.dataOffsets]), [['d', [0, 8]], ['a', [8, 12]], ['b', [12, 20]], ['h', [20, 22]]]);
  });

  it('refuses duplicate names and data that does not match the shape', () => {
    expectFileError(() => serializeSafetensors([
      { name: 'x', dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
      { name: 'x', dtype: 'F32', shape: [1], data: Float32Array.from([1]) },
    ]), /duplicate tensor name "x"/);
    expectFileError(() => serializeSafetensors([{ name: 'x', dtype: 'F32', shape: [3], data: Float32Array.from([1]) }]), /4 bytes of data but shape \[3\] of F32 needs 12/);
  });
});

describe('safetensors reader', () => {
  it('parses the golden file', () => {
    const f = parseSafetensors(GOLDEN, 'golden.safetensors');
    assert.equal(f.headerLength, 64);
    assert.deepEqual(f.metadata, {});
    assert.equal(f.tensors.length, 1);
    const t = f.tensors[0]!;
    assert.equal(t.name, 'attn.0');
    assert.deepEqual(t.shape, [1, 2, 3]);
    assert.deepEqual([...tensorToFloat32(t)], [0, 1, 2, 3, 4, 5]);
  });

  it('round-trips metadata and several dtypes', () => {
    const bytes = serializeSafetensors(
      [
        { name: 'w', dtype: 'F32', shape: [2, 2], data: Float32Array.from([1, -2, 3.5, 0.25]) },
        { name: 'e', dtype: 'F32', shape: [0], data: new Float32Array(0) },
        { name: 'i', dtype: 'I32', shape: [2], data: Int32Array.from([7, -7]) },
      ],
      { note: 'héllo ✓', n: '3' },
    );
    const f = parseSafetensors(bytes);
    assert.deepEqual(f.metadata, { n: '3', note: 'héllo ✓' });
    const w = f.tensors.find((t) => t.name === 'w')!;
    assert.deepEqual([...tensorToFloat32(w)], [1, -2, 3.5, 0.25]);
    assert.equal(f.tensors.find((t) => t.name === 'e')!.data.length, 0);
  });

  it('converts F16 and BF16 to float32', () => {
    assert.equal(f16ToNumber(0x3c00), 1);
    assert.equal(f16ToNumber(0xc000), -2);
    assert.equal(f16ToNumber(0x0001), 2 ** -24);
    assert.equal(f16ToNumber(0x7bff), 65504); // the largest finite half
    assert.equal(f16ToNumber(0x0400), 2 ** -14); // the smallest normal
    assert.equal(f16ToNumber(0xfc00), -Infinity);
    assert.ok(Number.isNaN(f16ToNumber(0x7e00)));
    // bfloat16: the upper 16 bits of a float32 (values from the bit layout, not from the code under test).
    assert.equal(bf16ToNumber(0x3f80), 1);
    assert.equal(bf16ToNumber(0xc000), -2); // sign bit set: the shifted word is negative as an int32
    assert.equal(bf16ToNumber(0x0001), 2 ** -133); // the smallest subnormal
    assert.equal(bf16ToNumber(0x7f7f), 3.3895313892515355e38); // the largest finite bfloat16
    assert.equal(bf16ToNumber(0xff80), -Infinity);
    assert.ok(Number.isNaN(bf16ToNumber(0x7fc0)));
    const bytes = serializeSafetensors([
      { name: 'h', dtype: 'F16', shape: [2], data: Uint8Array.from([0x00, 0x3c, 0x00, 0xb8]) },
      { name: 'b', dtype: 'BF16', shape: [2], data: Uint8Array.from([0x80, 0x3f, 0x40, 0xc0]) },
    ]);
    const f = parseSafetensors(bytes);
    assert.deepEqual([...tensorToFloat32(f.tensors.find((t) => t.name === 'h')!)], [1, -0.5]);
    assert.deepEqual([...tensorToFloat32(f.tensors.find((t) => t.name === 'b')!)], [1, -3]);
  });

  it('rejects a file shorter than the length prefix', () => {
    expectFileError(() => parseSafetensors(Uint8Array.from([1, 2, 3]), 'tiny.safetensors'), /^tiny\.safetensors: is 3 bytes long, too short/);
  });

  it('rejects a header length above 100,000,000 before reading anything', () => {
    expectFileError(() => parseSafetensors(rawFile('{}', new Uint8Array(0), 100_000_001n)), /header length 100000001 exceeds the limit/);
    expectFileError(() => parseSafetensors(rawFile('{}', new Uint8Array(0), 0xffffffffffffffffn)), /exceeds the limit/);
  });

  it('rejects a header length that runs past the end of the file', () => {
    expectFileError(() => parseSafetensors(rawFile('{}', new Uint8Array(0), 64n)), /header length 64 runs past the end of the file \(10 bytes\)/);
  });

  it('checks the signature: the header must start with {', () => {
    expectFileError(() => parseSafetensors(rawFile('[1,2,3] ')), /does not start with '\{'.*not a safetensors file/);
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);
    expectFileError(() => parseSafetensors(png), /exceeds the limit|runs past the end/);
  });

  it('rejects invalid JSON, invalid UTF-8, duplicate keys and non-string metadata', () => {
    expectFileError(() => parseSafetensors(rawFile('{"a":{"dtype":"F32",}  ')), /not valid JSON: .* at character/);
    const badUtf8 = rawFile('{"\u00e9":1}');
    badUtf8[11] = 0xff;
    expectFileError(() => parseSafetensors(badUtf8), /not valid UTF-8/);
    const dup = '{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectFileError(() => parseSafetensors(rawFile(dup, new Uint8Array(8))), /duplicate key "t"/);
    expectFileError(() => parseSafetensors(rawFile('{"__metadata__":{"n":3}}')), /__metadata__ value for "n" is number; the format allows strings only/);
  });

  it('rejects unknown dtypes and sizes that disagree with the shape', () => {
    expectFileError(() => parseSafetensors(rawFile('{"t":{"dtype":"F24","shape":[1],"data_offsets":[0,3]}}', new Uint8Array(3))), /tensor "t": unknown dtype "F24"/);
    expectFileError(
      () => parseSafetensors(rawFile('{"t":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}', new Uint8Array(12))),
      /tensor "t": data_offsets span 12 bytes but shape \[2, 2\] of F32 needs 16/,
    );
    expectFileError(() => parseSafetensors(rawFile('{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4))), /shape entry -1/);
    expectFileError(() => parseSafetensors(rawFile('{"t":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', new Uint8Array(4))), /0 ≤ begin ≤ end/);
  });

  it('rejects holes, overlaps, truncation and trailing bytes in the byte buffer', () => {
    const t = (name: string, b: number, e: number): string => `"${name}":{"dtype":"U8","shape":[${e - b}],"data_offsets":[${b},${e}]}`;
    expectFileError(() => parseSafetensors(rawFile(`{${t('a', 1, 2)}}`, new Uint8Array(2))), /tensor "a" starts at byte 1 but the previous data ends at 0: the byte buffer has a hole/);
    expectFileError(() => parseSafetensors(rawFile(`{${t('a', 0, 4)},${t('b', 2, 6)}}`, new Uint8Array(6))), /tensor "b" starts at byte 2, overlapping data that ends at 4/);
    expectFileError(() => parseSafetensors(rawFile(`{${t('a', 0, 4)}}`, new Uint8Array(3))), /past the end of the byte buffer \(3 bytes\): the file is truncated/);
    expectFileError(() => parseSafetensors(rawFile(`{${t('a', 0, 4)}}`, new Uint8Array(5))), /data ends at byte 4 .* 5 bytes after the header: the file has trailing bytes/);
  });

  it('names the file in every message', () => {
    expectFileError(() => parseSafetensors(rawFile('{"x":1}'), '/tmp/v.safetensors'), /^\/tmp\/v\.safetensors: tensor "x"/);
  });
});
