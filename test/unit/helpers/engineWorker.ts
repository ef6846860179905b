/**
 * The engine worker as the extension runs it, for tests: an EngineClient on the shipped dist/worker.js.
 */
import * as path from 'node:path';
import { after, before } from 'node:test';
import { EngineClient, type EngineClientOptions } from '../../../src/extension/engineClient';
import { DIST, ensureBuilt } from './build';

/**
 * One EngineClient on dist/worker.js for the tests of a file: dist/ is (re)built before them and the client
 * disposed of after them. Creating it starts nothing; its worker thread starts on the first request.
 */
export function bundledEngineClient(options: Omit<EngineClientOptions, 'workerPath'> = {}): EngineClient {
  const client = new EngineClient({ ...options, workerPath: path.join(DIST, 'worker.js') });
  before(() => ensureBuilt());
  after(() => client.dispose());
  return client;
}
