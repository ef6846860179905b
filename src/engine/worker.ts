/**
 * Engine worker thread entry (bundled to dist/worker.js). The extension host starts it on the first
 * request, never at activation; everything heavy (tokenizer, onnxruntime sessions) lives here so the
 * host thread stays responsive and a crash here is survivable.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { toEngineErrorInfo } from '../protocol/errors';
import { toEngineError } from './engineErrors';
import { EngineService } from './engineService';

if (isMainThread || parentPort === null) {
  throw new Error('dist/worker.js is the Polyglot Lens engine worker; start it with new Worker(), not directly.');
}

const port = parentPort;
const service = new EngineService((reply) => port.postMessage(reply));

port.on('message', (message: unknown) => service.receive(message));

// A bug that escapes a request must not kill the worker silently: report it, keep serving.
process.on('unhandledRejection', (reason) => {
  port.postMessage({ type: 'error', id: null, error: toEngineErrorInfo(toEngineError(reason)) });
});

service.hello();
