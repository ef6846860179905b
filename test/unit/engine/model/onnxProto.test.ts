import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { PROTO_FILE, SCHEMA_MODULE, schemaModuleText } from '../../../../src/engine/model/proto/embedSchema';
import { decodeModel, encodeModel, externalDataLocations, readFloatTensor, readModelFile } from '../../../../src/engine/model/onnxProto';
import { PYTHON, requireOnnx, SYNTHETIC_CASES, syntheticModel } from './helpers';

test('the embedded schema is the vendored onnx.proto (rerun embedSchema.ts after updating it)', () => {
  assert.equal(fs.readFileSync(SCHEMA_MODULE, 'utf8'), schemaModuleText(fs.readFileSync(PROTO_FILE, 'utf8')));
  const proto = fs.readFileSync(PROTO_FILE, 'utf8');
  assert.match(proto, /SPDX-License-Identifier: Apache-2\.0/);
  assert.match(proto, /FLOAT8E8M0 = 24/, 'a recent schema (IR 11+ types) so re-encoding drops no fields');
});

for (const c of SYNTHETIC_CASES) {
  test(`onnx protobuf (${c}): decode + encode reproduces the file byte for byte`, (t) => {
    if (!requireOnnx(t)) return;
    const file = path.join(syntheticModel(c), 'model.onnx');
    const bytes = fs.readFileSync(file);
    assert.ok(Buffer.from(encodeModel(decodeModel(bytes))).equals(bytes));
  });
}

test('external data: locations are listed and tensors read from the data file', (t) => {
  if (!requireOnnx(t)) return;
  const ext = readModelFile(path.join(syntheticModel('external'), 'model.onnx'));
  const inline = readModelFile(path.join(syntheticModel('plain'), 'model.onnx'));
  assert.deepEqual(externalDataLocations(ext), ['model.onnx_data']);
  assert.deepEqual(externalDataLocations(inline), []);
  // Compare with the values onnx (python) reads for the same tensor from the data file.
  const table = ext.graph.initializer.find((x) => x.name.startsWith('embed_tokens'));
  assert.ok(table);
  const values = readFloatTensor(table, syntheticModel('external'));
  assert.equal(values.length, 48 * 16);
  const script = [
    'import sys, json, onnx',
    'from onnx import numpy_helper',
    'm = onnx.load(sys.argv[1])',
    't = next(x for x in m.graph.initializer if x.name == sys.argv[2])',
    'print(json.dumps(numpy_helper.to_array(t).ravel()[:40].tolist()))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, path.join(syntheticModel('external'), 'model.onnx'), table.name], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(Array.from(values.subarray(0, 40)), JSON.parse(r.stdout) as number[]);
  const inlineTable = inline.graph.initializer.find((x) => x.name.startsWith('embed_tokens'));
  assert.ok(inlineTable);
  assert.equal(readFloatTensor(inlineTable, '.').length, 48 * 16);
});
