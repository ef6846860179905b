/**
 * Test helpers for the model engine: synthetic decoder graphs made by test/fixtures/synthetic/make_graphs.py
 * (Debian's python3-onnx), the independent onnx.checker, and small ORT feed builders.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import * as ort from 'onnxruntime-node';
import { toFloat32 } from '../../../../src/engine/model/decoder';

export const REPO = path.resolve(__dirname, '../../../..');
export const PYTHON = process.env.POLYGLOT_LENS_PYTHON ?? '/usr/bin/python3';
const GENERATOR = path.join(REPO, 'test/fixtures/synthetic/make_graphs.py');

export const SYNTHETIC_CASES = ['plain', 'scaled', 'fused', 'layernorm', 'ifmerged', 'external', 'fp16'] as const;
export type SyntheticCase = (typeof SYNTHETIC_CASES)[number] | 'noresidual';
export const SYN = { L: 3, H: 16, V: 48, NH: 2, HD: 8 } as const;

let onnxAvailable: boolean | null = null;

/** True when /usr/bin/python3 can import onnx and numpy. */
export function pythonOnnxAvailable(): boolean {
  if (onnxAvailable === null) {
    const r = spawnSync(PYTHON, ['-c', 'import onnx, numpy'], { encoding: 'utf8' });
    onnxAvailable = r.status === 0;
  }
  return onnxAvailable;
}

/**
 * Skips the test loudly when python3-onnx is missing; under CI=true a missing onnx is a failure, since CI
 * installs it (.ci/run) and a silent skip would hide every synthetic-graph test.
 */
export function requireOnnx(t: TestContext): boolean {
  if (pythonOnnxAvailable()) return true;
  const msg = `python3-onnx not importable by ${PYTHON}: install it (apt-get install -y python3-onnx python3-numpy)`;
  if (process.env.CI === 'true') throw new Error(`${msg}; CI requires it.`);
  console.warn(`\n*** SKIPPED: ${msg} ***\n`);
  t.skip(msg);
  return false;
}

const made = new Map<string, string>();

/** Generates synthetic model folders (once per process) into a temp dir; returns the folder of `which`. */
export function syntheticModel(which: SyntheticCase): string {
  const hit = made.get(which);
  if (hit) return hit;
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'polyglot-lens-syn-'));
  const all = [...SYNTHETIC_CASES, 'noresidual'];
  const r = spawnSync(PYTHON, [GENERATOR, out, ...all], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make_graphs.py failed: ${r.stderr}`);
  for (const c of all) made.set(c, path.join(out, c));
  process.on('exit', () => fs.rmSync(out, { recursive: true, force: true }));
  return made.get(which) as string;
}

/** The ground truth the generator wrote: residual points per graph. */
export interface ExpectedResiduals {
  [graph: string]: Array<{ tensor: string } | { node: string; output: number }>;
}
export function expectedResiduals(dir: string): ExpectedResiduals {
  return JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as ExpectedResiduals;
}

/** Runs onnx.checker.check_model(full_check=True) on files; returns '' when all pass, else the error text. */
export function onnxCheck(files: string[]): string {
  const script = [
    'import sys, onnx',
    'for f in sys.argv[1:]:',
    '    onnx.checker.check_model(onnx.load(f), full_check=True)',
    'print("ok")',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr || r.stdout;
}

/** Feeds for one run of a synthetic model (batch 1, past length 0): ids at positions 0..n-1. */
export function promptFeeds(ids: number[], opts: { ifMerged?: boolean; steerZeros?: number; fp16?: boolean } = {}): Record<string, ort.Tensor> {
  const n = ids.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(i)), [1, n]),
  };
  for (let i = 0; i < SYN.L; i++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${i}.${kv}`] = opts.fp16
        ? new ort.Tensor('float16', new Uint16Array(0), [1, SYN.NH, 0, SYN.HD])
        : new ort.Tensor('float32', new Float32Array(0), [1, SYN.NH, 0, SYN.HD]);
    }
  }
  if (opts.ifMerged) feeds.use_cache_branch = new ort.Tensor('bool', [false], [1]);
  if (opts.steerZeros !== undefined) {
    for (let k = 0; k <= opts.steerZeros; k++) feeds[`steer.${k}`] = new ort.Tensor('float32', new Float32Array(SYN.H), [1, 1, SYN.H]);
  }
  return feeds;
}

/** A tensor's values as float32 (float16 converted exactly). */
export function floats(t: ort.Tensor | undefined): Float32Array {
  if (!t) throw new Error('missing output');
  return toFloat32(t);
}

/** A tensor's raw bytes, for bit-for-bit comparisons whatever its type. */
export function rawBytes(t: ort.Tensor | undefined): Buffer {
  if (!t) throw new Error('missing output');
  const d = t.data as Float32Array | Uint16Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** Byte equality of two float arrays (bit-identical, -0 vs +0 and NaN payloads included). */
export function bitIdentical(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

/** Largest absolute elementwise difference. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** A deterministic pseudo-random vector in [-scale, scale). */
export function testVector(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 4294967296 - 0.5) * 2 * scale;
  });
}

/** A fresh temp folder removed at process exit. */
export function tempDir(prefix = 'polyglot-lens-test-'): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}
