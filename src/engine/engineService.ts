/**
 * Serves engine protocol requests: validates each message where it enters, runs requests one at a time (two
 * ORT runs on 2 cores only slow each other down), reports progress under the request's id, honours
 * cancellation (a queued request is dropped; a running one stops at its next step, a generation within one
 * token), and keeps the last model loaded (a {@link ModelRuntime}, which caches results per prompt + vector set).
 *
 * Transport-free so it can be tested in-process; src/engine/worker.ts connects it to a worker thread.
 */
import {
  ENGINE_PROTOCOL_VERSION,
  engineRequest,
  salvageRequestId,
  type EngineReply,
  type EngineRequest,
  type ModelSpec,
  type ProgressEvent,
} from '../protocol/engine';
import { EngineError, toEngineErrorInfo } from '../protocol/errors';
import { safeParse } from '../protocol/validate';
import { toEngineError } from './engineErrors';
import { ModelRuntime, runtimeKey, type RuntimeOptions } from './modelRuntime';
import { computeVector, exportVector, inspectCorpus, inspectVectorFile, sweepVector } from './vectorJobs';

export type ModelLoader = (dir: string, options: RuntimeOptions) => Promise<ModelRuntime>;

type WorkRequest = Exclude<EngineRequest, { type: 'cancel' }>;

interface LoadedModel {
  key: string;
  runtime: Promise<ModelRuntime>;
}

export class EngineService {
  private readonly queue: WorkRequest[] = [];
  private running: { request: WorkRequest; abort: AbortController } | undefined;
  private loaded: LoadedModel | undefined;
  private pumping = false;

  constructor(
    private readonly post: (reply: EngineReply) => void,
    private readonly loadModel: ModelLoader = (dir, options) => ModelRuntime.open(dir, options),
    private readonly cacheDir?: string,
  ) {}

  hello(): void {
    this.post({ type: 'hello', protocolVersion: ENGINE_PROTOCOL_VERSION });
  }

  /** Entry point for every incoming message; never throws. */
  receive(raw: unknown): void {
    const parsed = safeParse(engineRequest, raw, 'request');
    if (!parsed.ok) {
      this.post({ type: 'error', id: salvageRequestId(raw), error: { code: 'BAD_MESSAGE', message: `Invalid engine request: ${parsed.error.message}` } });
      return;
    }
    const request = parsed.value;
    if (request.type === 'cancel') {
      this.cancel(request.target);
      return;
    }
    this.queue.push(request);
    void this.pump();
  }

  /** Number of requests waiting or running (for tests and diagnostics). */
  get pending(): number {
    return this.queue.length + (this.running !== undefined ? 1 : 0);
  }

  async dispose(): Promise<void> {
    this.running?.abort.abort();
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded !== undefined) await (await loaded.runtime.catch(() => undefined))?.dispose();
  }

  private cancel(target: number): void {
    const index = this.queue.findIndex((r) => r.id === target);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.postCancelled(target);
    } else if (this.running?.request.id === target) {
      // Generation checks the signal before every step; a single forward pass finishes and is dropped.
      this.running.abort.abort();
    }
  }

  private postCancelled(id: number): void {
    this.post({ type: 'error', id, error: { code: 'CANCELLED', message: 'Superseded by a newer request.' } });
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let request = this.queue.shift(); request !== undefined; request = this.queue.shift()) {
        const abort = new AbortController();
        this.running = { request, abort };
        try {
          const reply = await this.serve(request, abort.signal);
          if (abort.signal.aborted) this.postCancelled(request.id);
          else this.post(reply);
        } catch (err) {
          if (abort.signal.aborted) this.postCancelled(request.id);
          else this.post({ type: 'error', id: request.id, error: toEngineErrorInfo(toEngineError(err)) });
        } finally {
          this.running = undefined;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async serve(request: WorkRequest, signal: AbortSignal): Promise<EngineReply> {
    const id = request.id;
    const onProgress = (event: ProgressEvent): void => {
      if (!signal.aborted) this.post({ type: 'progress', id, event });
    };
    if (request.type === 'inspectCorpus') return { type: 'corpusInfo', id, info: await inspectCorpus(request.file) }; // no model needed
    const { runtime, loadMs } = await this.model(request.model, onProgress);
    if (signal.aborted) throw new EngineError('CANCELLED', 'Cancelled.');
    switch (request.type) {
      case 'loadModel':
        return { type: 'modelLoaded', id, model: await runtime.summary(), loadMs };
      case 'analyze': {
        const analysis = await runtime.analyze(request.prompt, { topK: request.topK, vectors: request.vectors, generation: request.generation, inspect: request.inspect, signal, onProgress });
        return { type: 'analysis', id, analysis: { ...analysis, timings: { ...analysis.timings, loadMs } } };
      }
      case 'generate': {
        const result = await runtime.generate(request.prompt, request.vectors ?? [], request.generation, { signal, onProgress });
        return { type: 'generated', id, result: { ...result, timings: { ...result.timings, loadMs } } };
      }
      case 'logitLens':
        return { type: 'logitLens', id, result: await runtime.logitLens(request.prompt, { position: request.position, topK: request.topK, vectors: request.vectors }) };
      case 'computeVector':
        return { type: 'vectorComputed', id, result: await computeVector(runtime, request, { signal, onProgress }) };
      case 'sweepVector':
        return { type: 'sweepDone', id, report: await sweepVector(runtime, request, { signal, onProgress }) };
      case 'exportVector':
        return { type: 'vectorExported', id, result: await exportVector(runtime, request) };
      case 'inspectVectorFile':
        return { type: 'vectorFileInfo', id, info: await inspectVectorFile(runtime, request) };
    }
  }

  /**
   * The runtime for `spec`, opening it if needed. The key includes the ONNX file's size and mtime, so
   * re-exporting a model into the same folder is picked up. A failed load is not cached: the user fixes
   * the folder and simply runs the command again.
   */
  private async model(spec: ModelSpec, onProgress: (e: ProgressEvent) => void): Promise<{ runtime: ModelRuntime; loadMs: number }> {
    const options: RuntimeOptions = { threads: spec.threads, ...(spec.executionProviders ? { executionProviders: spec.executionProviders } : {}), ...(this.cacheDir ? { cacheDir: this.cacheDir } : {}) };
    const key = runtimeKey(spec.dir, options);
    if (this.loaded?.key === key) {
      try {
        return { runtime: await this.loaded.runtime, loadMs: 0 };
      } catch {
        // fall through: a failed load is retried
      }
    }
    onProgress({ kind: 'stage', stage: 'loading' });
    const previous = this.loaded;
    const loading = this.loadModel(spec.dir, options);
    this.loaded = { key, runtime: loading };
    if (previous !== undefined) void previous.runtime.then((m) => m.dispose(), () => undefined);
    try {
      const runtime = await loading;
      return { runtime, loadMs: runtime.loadMs };
    } catch (err) {
      if (this.loaded?.runtime === loading) this.loaded = undefined;
      throw err;
    }
  }
}
