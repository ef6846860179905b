/**
 * Serves engine protocol requests: validates each message, runs requests one at a time (two ORT runs on
 * 2 cores only slow each other down), honours cancellation, and keeps the last model loaded.
 *
 * Transport-free so it can be tested in-process; src/engine/worker.ts connects it to a worker thread.
 */
import { promises as fs } from 'node:fs';
import { ENGINE_PROTOCOL_VERSION, engineRequest, salvageRequestId, type AnalyzeRequest, type EngineReply, type ModelSpec, type PromptAnalysis } from '../protocol/engine';
import { EngineError, toEngineErrorInfo } from '../protocol/errors';
import { safeParse } from '../protocol/validate';
import { CausalLm } from './causalLm';
import { findModelFiles } from './modelFolder';

export type ModelLoader = (dir: string, options: { threads: number }) => Promise<CausalLm>;

interface LoadedModel {
  key: string;
  model: Promise<CausalLm>;
}

export class EngineService {
  private readonly queue: AnalyzeRequest[] = [];
  private running: AnalyzeRequest | undefined;
  private readonly cancelled = new Set<number>();
  private loaded: LoadedModel | undefined;
  private pumping = false;

  constructor(
    private readonly post: (reply: EngineReply) => void,
    private readonly loadModel: ModelLoader = (dir, options) => CausalLm.load(dir, options),
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
    switch (request.type) {
      case 'cancel':
        this.cancel(request.target);
        return;
      case 'analyze':
        this.queue.push(request);
        void this.pump();
        return;
    }
  }

  /** Number of requests waiting or running (for tests and diagnostics). */
  get pending(): number {
    return this.queue.length + (this.running !== undefined ? 1 : 0);
  }

  async dispose(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded !== undefined) await (await loaded.model.catch(() => undefined))?.dispose();
  }

  private cancel(target: number): void {
    const index = this.queue.findIndex((r) => r.id === target);
    if (index >= 0) {
      this.queue.splice(index, 1);
      this.postCancelled(target);
    } else if (this.running?.id === target) {
      // onnxruntime cannot abort a run; drop its result when it finishes.
      this.cancelled.add(target);
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
        this.running = request;
        try {
          const analysis = await this.analyze(request);
          if (this.cancelled.has(request.id)) this.postCancelled(request.id);
          else this.post({ type: 'analysis', id: request.id, analysis });
        } catch (err) {
          if (this.cancelled.has(request.id)) this.postCancelled(request.id);
          else this.post({ type: 'error', id: request.id, error: toEngineErrorInfo(err) });
        } finally {
          this.cancelled.delete(request.id);
          this.running = undefined;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async analyze(request: AnalyzeRequest): Promise<PromptAnalysis> {
    const { model, loadMs } = await this.model(request.model);
    const analysis = await model.analyze(request.prompt, request.topK);
    return { ...analysis, timings: { ...analysis.timings, loadMs } };
  }

  /**
   * The loaded model for `spec`, loading it if needed. The cache key includes the ONNX file's size and
   * mtime, so re-exporting a model into the same folder is picked up. A failed load is not cached: the
   * user fixes the folder and simply runs the command again.
   */
  private async model(spec: ModelSpec): Promise<{ model: CausalLm; loadMs: number }> {
    const files = await findModelFiles(spec.dir);
    const stat = await fs.stat(files.onnxPath);
    const key = JSON.stringify([spec.dir, spec.threads, files.onnxPath, stat.size, stat.mtimeMs]);
    if (this.loaded?.key === key) {
      const model = await this.loaded.model;
      return { model, loadMs: 0 };
    }
    const previous = this.loaded;
    const loading = this.loadModel(spec.dir, { threads: spec.threads });
    this.loaded = { key, model: loading };
    if (previous !== undefined) void previous.model.then((m) => m.dispose(), () => undefined);
    try {
      const model = await loading;
      return { model, loadMs: model.loadMs };
    } catch (err) {
      if (this.loaded?.model === loading) this.loaded = undefined;
      if (err instanceof EngineError) throw err;
      throw new EngineError('MODEL_INVALID', `Could not load the model in ${spec.dir}: ${(err as Error).message}`, 'Check the model folder.', { cause: err });
    }
  }
}
