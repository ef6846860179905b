/**
 * The extension host's side of the engine worker: starts the worker on the first request (activation
 * stays free of models and threads), numbers requests, validates every reply, lets a newer request
 * supersede an older one, and survives a worker crash by starting a fresh worker on the next request.
 *
 * Deliberately free of `vscode` imports so it can be tested against the real worker in plain Node.
 */
import { Worker } from 'node:worker_threads';
import { engineReply, type AnalyzeRequest, type EngineReply, type EngineRequest, type PromptAnalysis, ENGINE_PROTOCOL_VERSION } from '../protocol/engine';
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

interface Pending {
  resolve: (analysis: PromptAnalysis) => void;
  reject: (err: EngineError) => void;
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
   * Tokenizes `prompt` and runs one forward pass in the worker. With `supersedeKey`, a still-pending
   * earlier request under the same key is cancelled (its promise rejects with CANCELLED).
   */
  analyze(params: AnalyzeParams, supersedeKey?: string): Promise<PromptAnalysis> {
    if (this.disposed) return Promise.reject(new EngineError('INTERNAL', 'The engine was shut down.'));
    const id = this.nextId++;
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
    return new Promise<PromptAnalysis>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ type: 'analyze', id, ...params });
      this.updateRef();
    });
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
      this.onWorkerGone(worker, `The engine worker crashed: ${err.message}`);
    });
    worker.on('exit', (code) => {
      log(`engine worker exited with code ${code}`);
      this.onWorkerGone(worker, `The engine worker stopped unexpectedly (exit code ${code}).`);
    });
    // An idle worker must not keep the process (CLI, tests) alive; a busy one must: see updateRef().
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private onWorkerGone(worker: Worker, message: string): void {
    if (this.worker !== worker) return; // already replaced or disposed
    this.worker = undefined;
    this.rejectAll(new EngineError('WORKER_CRASHED', message, 'Run the command again; a fresh engine starts automatically.'));
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

  private onReply(reply: EngineReply): void {
    switch (reply.type) {
      case 'hello':
        if (reply.protocolVersion !== ENGINE_PROTOCOL_VERSION) {
          this.options.log?.(`engine worker speaks protocol ${reply.protocolVersion}, expected ${ENGINE_PROTOCOL_VERSION}`);
        }
        return;
      case 'analysis': {
        const pending = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        this.updateRef();
        pending?.resolve(reply.analysis);
        return;
      }
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
