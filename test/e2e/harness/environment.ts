/**
 * Shared by the webview and e2e harnesses: where things live, and the CI rule for missing tools —
 * under CI=true a missing browser or editor is an error; elsewhere the test is skipped, loudly.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { TestContext } from 'node:test';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');

export function isCI(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/** Debian's Chromium (never a `playwright install` download); override with CHROMIUM_PATH. */
export function chromiumPath(): string {
  return process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
}

/**
 * Returns the missing-tool message, or undefined when the tool is there. Under CI this throws instead,
 * so a misconfigured CI machine fails rather than passing with nothing tested.
 */
export function checkTool(what: string, present: boolean, howToInstall: string): string | undefined {
  if (present) return undefined;
  const message = `${what} is not available. ${howToInstall}`;
  if (isCI()) throw new Error(`CI=true: ${message}`);
  return message;
}

/** Skips `t` with a banner that is hard to miss in the test output. */
export function skipLoudly(t: TestContext, message: string): void {
  const line = '!'.repeat(100);
  process.stderr.write(`\n${line}\n!! SKIPPED ${t.name}: ${message}\n${line}\n\n`);
  t.skip(message);
}

export function chromiumMissing(): string | undefined {
  return checkTool(`Chromium (${chromiumPath()})`, existsSync(chromiumPath()), 'Install it with `apt-get install -y chromium`, or set CHROMIUM_PATH.');
}

/** Arguments that make headless Chromium quiet and deterministic on a CI box (no network, no GPU). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

/** A file-system-safe name for a test's artefacts. */
export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}
