/**
 * Drives a real VS Code (code-server) in a real Chromium for end-to-end tests.
 *
 * Each session gets a fresh profile (user data + extensions folders), installs the freshly built
 * extension, starts code-server in its own process group on a free loopback port, and opens the
 * workspace in headless Chromium. Helpers act as a person would: click the Explorer, use Go to Line,
 * run commands from the palette, read the webview's DOM, take screenshots into test-results/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync, promises as fs, statSync, readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { CHROMIUM_ARGS, checkTool, chromiumMissing, chromiumPath, isCI, REPO_ROOT, RESULTS_DIR, skipLoudly, slug } from './environment';
import { ensureCodeServer, type CodeServerInstall } from './install';

export type ExtensionSource = { vsix: string } | { folder: string };

export interface SessionOptions {
  /** Folder opened as the workspace. */
  workspace: string;
  /** Written to the fresh profile's User/settings.json on top of the quiet defaults below. */
  userSettings?: Record<string, unknown>;
  /**
   * Written to Machine/settings.json: code-server is a remote window, where settings of scope `machine`
   * / `machine-overridable` (like polyglotLens.modelPath) are read from the remote machine's settings,
   * not from User settings — exactly as with VS Code Remote-SSH.
   */
  machineSettings?: Record<string, unknown>;
  extension: ExtensionSource;
  viewport?: { width: number; height: number };
}

/** A quiet workbench: no welcome page, no AI, no telemetry, no update or extension-gallery traffic. */
const DEFAULT_SETTINGS: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'chat.disableAIFeatures': true,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false,
  'extensions.ignoreRecommendations': true,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'window.restoreWindows': 'none',
  'workbench.colorTheme': 'Default Dark Modern',
  // The secondary side bar would only hold the (disabled) chat view.
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export class VsCodeSession {
  private constructor(
    readonly page: Page,
    readonly resultsDir: string,
    private readonly browser: Browser,
    private readonly server: ChildProcess,
    private readonly profileDir: string,
    private readonly logFile: string,
  ) {}

  /**
   * Starts code-server + Chromium for test `t`. Returns undefined when the test was skipped because a
   * tool is missing (never under CI=true, where that throws).
   */
  static async start(t: TestContext, options: SessionOptions): Promise<VsCodeSession | undefined> {
    const noBrowser = chromiumMissing();
    if (noBrowser !== undefined) {
      skipLoudly(t, noBrowser);
      return undefined;
    }
    let install: CodeServerInstall;
    try {
      install = await ensureCodeServer();
    } catch (err) {
      const message = checkTool('code-server', false, `Installing it failed: ${(err as Error).message}`);
      skipLoudly(t, message ?? String(err));
      return undefined;
    }

    const resultsDir = path.join(RESULTS_DIR, slug(t.fullName));
    await fs.rm(resultsDir, { recursive: true, force: true });
    await fs.mkdir(resultsDir, { recursive: true });
    const profileDir = await fs.mkdtemp(path.join(os.tmpdir(), 'polyglot-lens-e2e-'));
    const userDataDir = path.join(profileDir, 'user-data');
    const extensionsDir = path.join(profileDir, 'extensions');
    await fs.mkdir(path.join(userDataDir, 'User'), { recursive: true });
    await fs.mkdir(extensionsDir, { recursive: true });
    await fs.writeFile(path.join(userDataDir, 'User', 'settings.json'), JSON.stringify({ ...DEFAULT_SETTINGS, ...options.userSettings }, null, 2));
    if (options.machineSettings !== undefined) {
      await fs.mkdir(path.join(userDataDir, 'Machine'), { recursive: true });
      await fs.writeFile(path.join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(options.machineSettings, null, 2));
    }
    const logFile = path.join(resultsDir, 'code-server.log');
    // --config inside the profile: code-server otherwise writes ~/.config/code-server/config.yaml.
    const baseArgs = [install.entry, '--config', path.join(profileDir, 'config.yaml'), '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir];

    installExtension(install, baseArgs, options.extension, extensionsDir, logFile);

    const port = await freePort();
    const out = openSync(logFile, 'a');
    // detached: code-server leads its own process group, so dispose() can end it and its children
    // (extension host, file watcher, pty host) with one signal, like `setsid`.
    const server = spawn(
      install.node,
      [...baseArgs, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--ignore-last-opened', options.workspace],
      { detached: true, stdio: ['ignore', out, out], env: serverEnv() },
    );
    closeSync(out);
    let exited: string | undefined;
    server.on('exit', (code, signal) => (exited = `code-server exited (${code ?? signal})`));

    let browser: Browser | undefined;
    try {
      await until('code-server /healthz', 60_000, async () => {
        if (exited !== undefined) throw new Error(`${exited} before it was ready:\n${tail(logFile)}`);
        return (await httpStatus(`http://127.0.0.1:${port}/healthz`)) === 200 ? true : undefined;
      });
      browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
      const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 } });
      const page = await context.newPage();
      const session = new VsCodeSession(page, resultsDir, browser, server, profileDir, logFile);
      page.on('console', (m) => {
        if (m.type() === 'error') void fs.appendFile(path.join(resultsDir, 'browser-console.log'), `${m.text()}\n`);
      });
      await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(options.workspace)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      // The Explorer lists the workspace once the workbench has restored its views.
      await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 60_000 });
      return session;
    } catch (err) {
      await browser?.close().catch(() => undefined);
      killGroup(server);
      await fs.rm(profileDir, { recursive: true, force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Opens `name` (a file at the workspace root) by clicking it in the Explorer; waits for its editor. */
  async openFile(name: string): Promise<void> {
    const row = this.page.locator(`.explorer-folders-view .monaco-list-row[aria-label^="${name}"]`).first();
    await row.waitFor({ timeout: 30_000 });
    await row.dblclick();
    await this.page.locator(`.tabs-container .tab[aria-label^="${name}"]`).first().waitFor({ timeout: 30_000 });
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().waitFor({ timeout: 30_000 });
  }

  /** Puts the cursor at 1-based `line` (and `column`, default its start) through Go to Line (`:` in Quick Open). */
  async goToLine(line: number, column?: number): Promise<void> {
    await this.page.locator('.editor-instance .monaco-editor .view-lines').first().click();
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(column !== undefined ? `:${line}:${column}` : `:${line}`);
    await this.page.keyboard.press('Enter');
    await this.page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 10_000 });
    // The status bar shows the cursor position once the editor has it.
    await this.page.locator(`.statusbar-item[id="status.editor.selection"]`, { hasText: column !== undefined ? `Ln ${line}, Col ${column}` : `Ln ${line},` }).waitFor({ timeout: 10_000 });
  }

  /**
   * Runs a command from the palette by its full title (e.g. "Polyglot Lens: Steer Prompt"). The palette can
   * open before an extension's commands are registered and then never refreshes, so: Escape, F1,
   * retype, until the command's row appears (no fixed sleeps).
   */
  async runCommand(title: string, timeoutMs = 60_000): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    await this.pickFromPalette(title, timeoutMs, async () => {
      // The palette closes — or the command opened a quick pick of its own in the same widget (its input
      // no longer holds the '>' command query).
      await until(`"${title}" to run`, 10_000, async () => ((await this.page.locator('.quick-input-widget').isVisible()) && (await input.inputValue()).startsWith('>') ? undefined : true), 100);
    });
  }

  /**
   * Reloads the window the way a user does, with "Developer: Reload Window". VS Code then saves its UI
   * state (the open editors, each webview's saved state) and waits for that before it reloads; a bare
   * page.reload() is an unexpected unload, where that save races the browser and a restored panel can be
   * missing. Resolves once the new workbench is on the page.
   */
  async reloadWindow(timeoutMs = 60_000): Promise<void> {
    const loaded = this.page.waitForEvent('load', { timeout: timeoutMs });
    loaded.catch(() => undefined); // awaited below; this only keeps an early failure from being unhandled
    await this.pickFromPalette('Developer: Reload Window', timeoutMs, () => loaded.then(() => undefined));
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
  }

  /** Opens the command palette, picks the command titled `title` and waits for `ran`; retries until timeoutMs. */
  private async pickFromPalette(title: string, timeoutMs: number, ran: () => Promise<void>): Promise<void> {
    const input = this.page.locator('.quick-input-widget input');
    const row = this.page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt++) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('F1');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(`>${title}`);
      try {
        await row.waitFor({ state: 'visible', timeout: Math.min(3_000 * attempt, 10_000) });
        await this.page.keyboard.press('Enter');
        await ran();
        return;
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`command "${title}" did not appear in the palette within ${timeoutMs} ms: ${(err as Error).message}`);
      }
    }
  }

  /**
   * The webview frame containing `selector`. Webviews are nested iframes (host frame > content frame);
   * walk page.frames() until one has the element.
   */
  async webviewFrame(selector: string, timeoutMs = 60_000): Promise<Frame> {
    return until(`a frame containing ${selector}`, timeoutMs, async () => {
      for (const frame of this.page.frames()) {
        if (frame === this.page.mainFrame()) continue;
        try {
          if ((await frame.$(selector)) !== null) return frame;
        } catch {
          // Frames detach while the webview loads; try the next one / the next round.
        }
      }
      return undefined;
    });
  }

  /** Full-page screenshot into this test's folder under test-results/; returns its path. */
  async screenshot(name: string): Promise<string> {
    const file = path.join(this.resultsDir, `${slug(name)}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  /** The text of a notification toast containing `text`, once one is shown. */
  async notification(text: string, timeoutMs = 30_000): Promise<string> {
    const toast = this.page.locator('.notification-toast', { hasText: text }).first();
    await toast.waitFor({ timeout: timeoutMs });
    return (await toast.innerText()).trim();
  }

  /** Closes the browser and ends code-server's whole process group; the profile is deleted. */
  async dispose(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await killGroupAndWait(this.server);
    await fs.rm(this.profileDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Extension-host log lines from the profile (for failure messages). */
  extensionHostLog(): string {
    return collectLogs(path.join(this.profileDir, 'user-data', 'logs'));
  }

  get serverLog(): string {
    return tail(this.logFile, 60);
  }
}

/** The test's environment minus variables that would make code-server think it runs inside another VS Code. */
function serverEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('VSCODE_') || key === 'ELECTRON_RUN_AS_NODE') delete env[key];
  return env;
}

function installExtension(install: CodeServerInstall, baseArgs: string[], source: ExtensionSource, extensionsDir: string, logFile: string): void {
  if ('folder' in source) {
    const manifest = JSON.parse(readFileSync(path.join(source.folder, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
    return void fsSymlink(source.folder, path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`));
  }
  if (!existsSync(source.vsix)) throw new Error(`no .vsix at ${source.vsix}`);
  const r = spawnSync(install.node, [...baseArgs, '--install-extension', source.vsix], { encoding: 'utf8', timeout: 120_000 });
  void fs.appendFile(logFile, `--install-extension ${source.vsix}\n${r.stdout}\n${r.stderr}\n`);
  if (r.status !== 0) throw new Error(`installing ${source.vsix} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
}

function fsSymlink(target: string, link: string): void {
  spawnSync('ln', ['-s', target, link]);
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}

async function killGroupAndWait(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroup(child);
  const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
  if ((await Promise.race([exited, timer])) === 'timeout') {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await exited;
  }
}

function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function collectLogs(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of existsSync(d) ? readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/exthost|Polyglot|remoteagent/i.test(p) && statSync(p).size < 1_000_000) out.push(`== ${path.relative(dir, p)}\n${readFileSync(p, 'utf8')}`);
    }
  };
  walk(dir);
  return out.join('\n');
}

/** True when running under CI (re-exported for tests that branch on it). */
export { isCI, REPO_ROOT };
