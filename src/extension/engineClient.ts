/**
 * The extension host's side of the engine worker: starts the worker on the first request (activation
 * stays free of models and threads), numbers requests, validates every reply, lets a newer request
 * supersede an older one, and survives a worker crash by starting a fresh worker on the next request.
 *
 * Deliberately free of `vscode` imports so it can be tested against the real worker in plain Node.
 */
import { Worker } from 'node:worker_threads';
// Not `vscode`: the CLI and the tests use this client too (English there; the host configures the bundle).
import * as l10n from '@vscode/l10n';
import {
  engineReply,
  type AnalyzeRequest,
  type ComputedVector,
  type ComputeVectorRequest,
  type CorpusInfo,
  type ExportedVector,
  type ExportVectorRequest,
  type InspectVectorFileRequest,
  type SweepReport,
  type SweepVectorRequest,
  type VectorFileInfo,
  type VectorJobRequest,
  type EngineReply,
  type EngineRequest,
  type GenerateRequest,
  type GenerationResult,
  type LoadModelRequest,
  type LogitLensRequest,
  type LogitLensResult,
  type ModelSummary,
  type ProgressEvent,
  type PromptAnalysis,
  ENGINE_PROTOCOL_VERSION,
} from '../protocol/engine';
import { EngineError } from '../protocol/errors';
import { safeParse } from '../protocol/validate';

export interface EngineClientOptions {
  /** Path of the bundled worker script (dist/worker.js), or a .ts file when execArgv loads a TS loader. */
  workerPath: string;
  execArgv?: string[];
  /** Diagnostic log lines (worker start/exit, dropped messages). */
  log?: (line: string) => void;
}

export type AnalyzeParams = Omit<AnalyzeRequest, 'type' | 'id'>;
export type GenerateParams = Omit<GenerateRequest, 'type' | 'id'>;
export type LogitLensParams = Omit<LogitLensRequest, 'type' | 'id'>;
export type LoadModelParams = Omit<LoadModelRequest, 'type' | 'id'>;
export type ComputeVectorParams = Omit<ComputeVectorRequest, 'type' | 'id'>;
export type SweepVectorParams = Omit<SweepVectorRequest, 'type' | 'id'>;
export type ExportVectorParams = Omit<ExportVectorRequest, 'type' | 'id'>;
export type InspectVectorFileParams = Omit<InspectVectorFileRequest, 'type' | 'id'>;

/** Per-request options: a supersede key (a newer request under the same key cancels this one) and a progress callback. */
export interface RequestOptions {
  supersedeKey?: string;
  onProgress?: (event: ProgressEvent) => void;
}

type WorkRequestBody = Omit<AnalyzeRequest, 'id'> | Omit<GenerateRequest, 'id'> | Omit<LogitLensRequest, 'id'> | Omit<LoadModelRequest, 'id'> | DistributiveOmit<VectorJobRequest, 'id'>;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  resolve: (result: unknown) => void;
  reject: (err: EngineError) => void;
  onProgress?: (event: ProgressEvent) => void;
}

export class EngineClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Latest request id per supersede key (e.g. one key per panel). */
  private readonly latestByKey = new Map<string, number>();
  private disposed = false;

  constructor(private readonly options: EngineClientOptions) {}

  /** True once a worker thread has been started (and has not exited since). */
  get isRunning(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Analyzes `prompt` in the worker: tokens, per-layer states and language similarities, next tokens, and
   * (with vectors / generation) the steered variant and continuations. `options` may be a supersede key
   * (kept for callers of the first protocol version) or {@link RequestOptions}.
   */
  analyze(params: AnalyzeParams, options?: string | RequestOptions): Promise<PromptAnalysis> {
    return this.request<PromptAnalysis>({ type: 'analyze', ...params }, typeof options === 'string' ? { supersedeKey: options } : options);
  }

  /** Generates a continuation; tokens arrive as progress events before the result. */
  generate(params: GenerateParams, options?: RequestOptions): Promise<GenerationResult> {
    return this.request<GenerationResult>({ type: 'generate', ...params }, options);
  }

  /** Top-k next tokens read from every layer at one position. */
  logitLens(params: LogitLensParams, options?: RequestOptions): Promise<LogitLensResult> {
    return this.request<LogitLensResult>({ type: 'logitLens', ...params }, options);
  }

  /** Loads (and surgers, on first use) a model without analysing anything. */
  loadModel(params: LoadModelParams, options?: RequestOptions): Promise<{ model: ModelSummary; loadMs: number }> {
    return this.request<{ model: ModelSummary; loadMs: number }>({ type: 'loadModel', ...params }, options);
  }

  /** The languages of a parallel corpus (.jsonl/.tsv) and their row counts; validates the file. */
  inspectCorpus(file: string, options?: RequestOptions): Promise<CorpusInfo> {
    return this.request<CorpusInfo>({ type: 'inspectCorpus', file }, options);
  }

  /** Extracts a vector from a parallel corpus and writes it (atomically); `fraction` progress events; cancellable. */
  computeVector(params: ComputeVectorParams, options?: RequestOptions): Promise<ComputedVector> {
    return this.request<ComputedVector>({ type: 'computeVector', ...params }, options);
  }

  /** A layer × strength sweep of a vector; `fraction` progress events; cancellable between batches. */
  sweepVector(params: SweepVectorParams, options?: RequestOptions): Promise<SweepReport> {
    return this.request<SweepReport>({ type: 'sweepVector', ...params }, options);
  }

  /** Writes one layer of a vector as a GGUF control vector or a native safetensors file. */
  exportVector(params: ExportVectorParams, options?: RequestOptions): Promise<ExportedVector> {
    return this.request<ExportedVector>({ type: 'exportVector', ...params }, options);
  }

  /** Loads a vector file in the worker and checks it against the model. */
  inspectVectorFile(params: InspectVectorFileParams, options?: RequestOptions): Promise<VectorFileInfo> {
    return this.request<VectorFileInfo>({ type: 'inspectVectorFile', ...params }, options);
  }

  private request<T>(body: WorkRequestBody, options: RequestOptions = {}): Promise<T> {
    if (this.disposed) return Promise.reject(new EngineError('INTERNAL', 'The engine was shut down.'));
    const id = this.nextId++;
    const supersedeKey = options.supersedeKey;
    if (supersedeKey !== undefined) {
      const previous = this.latestByKey.get(supersedeKey);
      const superseded = previous !== undefined ? this.pending.get(previous) : undefined;
      if (previous !== undefined && superseded !== undefined) {
        // Rejected here, not when the worker confirms: the worker runs in parallel and may already have
        // finished the old request before the cancel reaches it. Its late reply is then ignored.
        this.pending.delete(previous);
        superseded.reject(new EngineError('CANCELLED', 'Superseded by a newer request.'));
        this.send({ type: 'cancel', id: this.nextId++, target: previous });
      }
      this.latestByKey.set(supersedeKey, id);
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, ...(options.onProgress ? { onProgress: options.onProgress } : {}) });
      const request: EngineRequest = { ...body, id };
      this.send(request);
      this.updateRef();
    });
  }

  /** Cancels the pending request under `supersedeKey`, if any (its promise rejects with CANCELLED). */
  cancel(supersedeKey: string): void {
    const previous = this.latestByKey.get(supersedeKey);
    const pending = previous !== undefined ? this.pending.get(previous) : undefined;
    if (previous === undefined || pending === undefined) return;
    this.pending.delete(previous);
    pending.reject(new EngineError('CANCELLED', 'Cancelled.'));
    this.send({ type: 'cancel', id: this.nextId++, target: previous });
    this.updateRef();
  }

  private updateRef(): void {
    if (this.pending.size > 0) this.worker?.ref();
    else this.worker?.unref();
  }

  /** Stops the worker; pending requests reject with CANCELLED. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.rejectAll(new EngineError('CANCELLED', 'The engine was shut down.'));
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined) await worker.terminate();
  }

  private send(request: EngineRequest): void {
    this.ensureWorker().postMessage(request);
  }

  private ensureWorker(): Worker {
    if (this.worker !== undefined) return this.worker;
    const log = this.options.log ?? (() => undefined);
    log(`starting engine worker ${this.options.workerPath}`);
    const worker = new Worker(this.options.workerPath, { execArgv: this.options.execArgv ?? [] });
    worker.on('message', (raw: unknown) => this.onMessage(raw));
    worker.on('error', (err) => {
      log(`engine worker error: ${err.stack ?? err.message}`);
      this.onWorkerGone(worker, l10n.t('The engine worker crashed: {0}', err.message));
    });
    worker.on('exit', (code) => {
      log(`engine worker exited with code ${code}`);
      this.onWorkerGone(worker, l10n.t('The engine worker stopped unexpectedly (exit code {0}).', code));
    });
    // An idle worker must not keep the process (CLI, tests) alive; a busy one must: see updateRef().
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onWorkerGone(worker: Worker, message: string): void {
    if (this.worker !== worker) return; // already replaced or disposed
    this.worker = undefined;
    this.rejectAll(new EngineError('WORKER_CRASHED', message, l10n.t('Run the command again; a fresh engine starts automatically.')));
  }

  private rejectAll(err: EngineError): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }

  private onMessage(raw: unknown): void {
    const parsed = safeParse(engineReply, raw, 'reply');
    if (!parsed.ok) {
      this.options.log?.(`dropped an invalid message from the engine worker: ${parsed.error.message}`);
      return;
    }
    this.onReply(parsed.value);
  }

  private settle(id: number, result: unknown): void {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    this.updateRef();
    pending?.resolve(result);
  }

  private onReply(reply: EngineReply): void {
    switch (reply.type) {
      case 'hello':
        if (reply.protocolVersion !== ENGINE_PROTOCOL_VERSION) {
          this.options.log?.(`engine worker speaks protocol ${reply.protocolVersion}, expected ${ENGINE_PROTOCOL_VERSION}`);
        }
        return;
      case 'progress':
        this.pending.get(reply.id)?.onProgress?.(reply.event);
        return;
      case 'analysis':
        this.settle(reply.id, reply.analysis);
        return;
      case 'generated':
        this.settle(reply.id, reply.result);
        return;
      case 'logitLens':
        this.settle(reply.id, reply.result);
        return;
      case 'modelLoaded':
        this.settle(reply.id, { model: reply.model, loadMs: reply.loadMs });
        return;
      case 'corpusInfo':
      case 'vectorFileInfo':
        this.settle(reply.id, reply.info);
        return;
      case 'vectorComputed':
      case 'vectorExported':
        this.settle(reply.id, reply.result);
        return;
      case 'sweepDone':
        this.settle(reply.id, reply.report);
        return;
      case 'error': {
        if (reply.id === null) {
          this.options.log?.(`engine worker reported: ${reply.error.code} ${reply.error.message}`);
          return;
        }
        const pending = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        this.updateRef();
        pending?.reject(EngineError.fromInfo(reply.error));
        return;
      }
    }
  }
}
