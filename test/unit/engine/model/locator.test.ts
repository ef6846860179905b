import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { locateResidualStream, type ResidualPoint } from '../../../../src/engine/model/locator';
import { readModelFile } from '../../../../src/engine/model/onnxProto';
import { ResidualStreamError } from '../../../../src/engine/model/errors';
import { expectedResiduals, requireOnnx, SYN, SYNTHETIC_CASES, syntheticModel } from './helpers';

function pointKey(p: ResidualPoint): string {
  if (p.kind === 'tensor') return `tensor:${p.tensor}`;
  return p.sumOutput ? `tensor:${p.sumOutput}` : `node:${p.nodeName}`;
}

for (const c of SYNTHETIC_CASES) {
  test(`locator finds the residual stream the generator built: ${c}`, (t) => {
    if (!requireOnnx(t)) return;
    const dir = syntheticModel(c);
    const layout = locateResidualStream(readModelFile(path.join(dir, 'model.onnx')), { numLayers: SYN.L });
    const expected = expectedResiduals(dir);
    assert.equal(layout.numLayers, SYN.L);
    assert.equal(layout.hiddenSize, SYN.H);
    assert.equal(layout.sumsPerBlock, 2, 'pre-norm blocks add to the residual twice');
    assert.equal(layout.source, 'structure');
    const byLabel = new Map(layout.graphs.map((g) => [g.path.length === 0 ? 'main' : (g.path[0]?.attribute as string), g]));
    assert.deepEqual([...byLabel.keys()].sort(), Object.keys(expected).sort(), 'every graph holding a decoder is located');
    for (const [label, points] of Object.entries(expected)) {
      const found = byLabel.get(label);
      assert.ok(found);
      const want = points.map((p) => ('tensor' in p ? `tensor:${p.tensor}` : `node:${p.node}`));
      assert.deepEqual(found.points.map(pointKey), want, `${c}/${label}: k = 0..L`);
      // The chain holds the mid-block (after-attention) sums too: 2L + 1 entries.
      assert.equal(found.chain.length, 2 * SYN.L + 1);
    }
  });
}

test('locator: fused SkipSimplifiedLayerNormalization sums are output 3, the final one unnamed', (t) => {
  if (!requireOnnx(t)) return;
  const layout = locateResidualStream(readModelFile(path.join(syntheticModel('fused'), 'model.onnx')), { numLayers: SYN.L });
  const pts = layout.graphs[0]?.points ?? [];
  assert.equal(pts[0]?.kind, 'tensor', 'k = 0 is the embedding Gather output');
  for (const p of pts.slice(1)) {
    assert.equal(p.kind, 'fused-sum');
    if (p.kind === 'fused-sum') assert.equal(p.opType, 'SkipSimplifiedLayerNormalization');
  }
  const last = pts[SYN.L];
  assert.ok(last?.kind === 'fused-sum' && last.sumOutput === null, 'the final norm declares no sum output');
});

test('locator: a model with no residual stream fails with a message naming the override file', (t) => {
  if (!requireOnnx(t)) return;
  const model = readModelFile(path.join(syntheticModel('noresidual'), 'model.onnx'));
  assert.throws(
    () => locateResidualStream(model, { numLayers: SYN.L, modelLabel: 'noresidual/model.onnx' }),
    (err: unknown) => {
      assert.ok(err instanceof ResidualStreamError);
      assert.equal(err.code, 'residual-stream');
      assert.match(err.message, /Could not find the residual stream of noresidual\/model\.onnx/);
      assert.match(err.message, /no residual addition/);
      assert.match(err.message, /polyglot-lens\.json/);
      assert.match(err.message, /4 names/);
      return true;
    },
  );
});

test('locator: a layer count that disagrees with config.json is an error, not a guess', (t) => {
  if (!requireOnnx(t)) return;
  const model = readModelFile(path.join(syntheticModel('plain'), 'model.onnx'));
  assert.throws(
    () => locateResidualStream(model, { numLayers: 4 }),
    /Found 6 residual sums .* num_hidden_layers = 4.*polyglot-lens\.json/s,
  );
  assert.throws(() => locateResidualStream(model, { numLayers: 3, hiddenSize: 32 }), /16 columns but config\.json says hidden_size = 32/);
});

test('locator: a graph without input_ids has no embedding to start from', (t) => {
  if (!requireOnnx(t)) return;
  const model = readModelFile(path.join(syntheticModel('plain'), 'model.onnx'));
  assert.throws(() => locateResidualStream(model, { numLayers: 3, inputIdsName: 'tokens' }), /no Gather node reads the graph input "tokens"/);
});

test('locator override: names from polyglot-lens.json replace the heuristics', (t) => {
  if (!requireOnnx(t)) return;
  const dir = syntheticModel('fused');
  const model = readModelFile(path.join(dir, 'model.onnx'));
  const expected = expectedResiduals(dir).main ?? [];
  const tensors = expected.map((p) => ('tensor' in p ? p.tensor : { node: p.node }));
  const layout = locateResidualStream(model, { numLayers: SYN.L, hiddenSize: SYN.H, override: { tensors } });
  assert.equal(layout.source, 'override');
  assert.deepEqual(layout.graphs[0]?.points.map(pointKey), expected.map((p) => ('tensor' in p ? `tensor:${p.tensor}` : `node:${p.node}`)));
  // A named output 3 of a fused node is recognised as a fused sum (steering must go into the node).
  assert.equal(layout.graphs[0]?.points[1]?.kind, 'fused-sum');

  assert.throws(
    () => locateResidualStream(model, { numLayers: SYN.L, hiddenSize: SYN.H, override: { tensors: ['nope', 'a', 'b', 'c'] } }),
    /polyglot-lens\.json names residual tensors that the model does not produce/,
  );
  assert.throws(
    () => locateResidualStream(model, { numLayers: SYN.L, hiddenSize: SYN.H, override: { tensors: tensors.slice(0, 3) } }),
    /names 3 residual tensors, but config\.json says num_hidden_layers = 3: list 4/,
  );
});
