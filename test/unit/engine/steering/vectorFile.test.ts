import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { VectorFileError } from '../../../../src/engine/steering/errors.js';
import { steeringVectorToGguf } from '../../../../src/engine/steering/gguf.js';
import { parseSafetensors, serializeSafetensors } from '../../../../src/engine/steering/safetensors.js';
import { createSteeringVector } from '../../../../src/engine/steering/vector.js';
import { decodeSteeringVector, detectVectorFileKind, encodeSteeringVector, loadSteeringVector, saveSteeringVector } from '../../../../src/engine/steering/vectorFile.js';

const v = createSteeringVector({
  directions: { 4: Float32Array.from([1, -2, 0.5]), 5: Float32Array.from([0, 0, 3]) },
  projections: { 4: Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]) },
  modelHash: 'deadbeef', modelHint: 'llama', method: 'diffmean', sourceLanguage: 'fr', targetLanguage: 'en', numPairs: 500,
  pooling: 'mean', tokenCounts: { en: 6000, fr: 7000 }, meanActivationNorms: { 4: 12.5, 5: 20 }, defaultLayer: 4, defaultStrength: 1.5,
  defaultStrengthUnit: 'raw', defaultPositions: 'prompt', createdAt: '2025-01-02T03:04:05.000Z', notes: 'UDHR articles 1-30',
});

describe('native vector file', () => {
  it('round-trips every field and tensor', () => {
    const bytes = encodeSteeringVector(v);
    const st = parseSafetensors(bytes);
    assert.deepEqual(st.tensors.map((t) => [t.name, t.dtype, t.shape]), [['direction.4', 'F32', [3]], ['direction.5', 'F32', [3]], ['projection.4', 'F32', [3, 3]]]);
    assert.equal(st.metadata['format'], 'polyglot-lens/steering-vector');
    assert.equal(st.metadata['mean_activation_norms'], '{"4":12.5,"5":20}');
    const back = decodeSteeringVector(bytes);
    assert.deepEqual(back.metadata, v.metadata);
    assert.deepEqual([...back.directions.get(4)!], [1, -2, 0.5]);
    assert.deepEqual([...back.projections.get(4)!], [...v.projections.get(4)!]);
  });

  it('reads a bare direction.{k} file made by another tool (F16, no metadata)', () => {
    const bytes = serializeSafetensors([
      { name: 'direction.7', dtype: 'F16', shape: [2], data: Uint8Array.from([0x00, 0x3c, 0x00, 0xc0]) },
      { name: 'something.else', dtype: 'I32', shape: [1], data: Int32Array.from([1]) },
    ]);
    const back = decodeSteeringVector(bytes, 'torch.safetensors');
    assert.deepEqual([...back.directions.get(7)!], [1, -2]);
    assert.equal(back.metadata.method, 'imported');
    assert.equal(back.metadata.defaultStrengthUnit, 'raw');
    assert.equal(back.metadata.hiddenSize, 2);
  });

  it('gives clear errors for files that are not steering vectors', () => {
    const noDirs = serializeSafetensors([{ name: 'model.embed', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }]);
    assert.throws(() => decodeSteeringVector(noDirs, 'm.safetensors'), (e: unknown) => e instanceof VectorFileError && /^m\.safetensors: has no direction\.\{k\} tensors/.test(e.message));
    const wrongSize = serializeSafetensors([{ name: 'direction.1', dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) }], { format: 'polyglot-lens/steering-vector', format_version: '1', hidden_size: '3' });
    assert.throws(() => decodeSteeringVector(wrongSize), /direction\.1 has 2 elements but the hidden size is 3/);
    const badMeta = serializeSafetensors([{ name: 'direction.1', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }], { method: 'magic' });
    assert.throws(() => decodeSteeringVector(badMeta), /metadata method = "magic" is not one of diffmean/);
    const future = serializeSafetensors([{ name: 'direction.1', dtype: 'F32', shape: [1], data: Float32Array.from([1]) }], { format: 'polyglot-lens/steering-vector', format_version: '9' });
    assert.throws(() => decodeSteeringVector(future), /native format version 9; this build reads version 1\. Update Polyglot Lens/);
  });

  it('saves atomically and loads safetensors or GGUF by signature, not extension', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pl-vec-'));
    try {
      const p = path.join(dir, 'fr-en.bin');
      await saveSteeringVector(p, v);
      assert.deepEqual(await fs.readdir(dir), ['fr-en.bin']);
      const a = await loadSteeringVector(p);
      assert.equal(a.kind, 'safetensors');
      assert.deepEqual(a.vector.metadata, v.metadata);
      const g = path.join(dir, 'fr-en.safetensors'); // misleading extension on purpose
      await fs.writeFile(g, steeringVectorToGguf(v, { bake: 'none' }).bytes);
      const b = await loadSteeringVector(g);
      assert.equal(b.kind, 'gguf');
      assert.deepEqual([...b.vector.directions.keys()], [4, 5]);
      assert.ok(b.vector.metadata.notes.includes('Imported from GGUF'));
      await fs.writeFile(path.join(dir, 'junk'), 'hello');
      await assert.rejects(loadSteeringVector(path.join(dir, 'junk')), /neither a safetensors file nor a GGUF control vector/);
      assert.equal(detectVectorFileKind(Uint8Array.from([0x47, 0x47, 0x55, 0x46])), 'gguf');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
