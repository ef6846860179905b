/**
 * Long engine requests from commands: a notification with progress and a Cancel button (cancelling sends the
 * engine's cancel; the job stops at its next batch), and engine errors shown with their message and hint.
 */
import * as vscode from 'vscode';
import type { ProgressEvent } from '../protocol/engine';
import { EngineError, isCancelled } from '../protocol/errors';
import type { RequestOptions } from './engineClient';
import type { LensServices } from './services';

function fractionMessage(event: Extract<ProgressEvent, { kind: 'fraction' }>): string {
  switch (event.label) {
    case 'sentences extracted':
      return vscode.l10n.t('{0} of {1} sentences read', event.done, event.total);
    case 'continuations':
      return vscode.l10n.t('{0} of {1} continuations generated', event.done, event.total);
    default:
      return `${event.done}/${event.total} ${event.label}`;
  }
}

/**
 * Runs `job` under a cancellable progress notification titled `title`. Resolves with the result, or undefined
 * when the user cancelled or the engine failed (the error is shown; `what` names the job in the log).
 */
export async function runEngineJob<T>(services: LensServices, title: string, what: string, job: (options: RequestOptions) => Promise<T>): Promise<T | undefined> {
  const key = `job:${what}`;
  const started = Date.now();
  try {
    const result = await vscode.window.withProgress<T>({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      let shown = 0;
      const cancel = token.onCancellationRequested(() => services.engine.cancel(key));
      try {
        return await job({
          supersedeKey: key,
          onProgress: (event) => {
            if (event.kind === 'stage' && event.stage === 'loading') progress.report({ message: vscode.l10n.t('loading the model…') });
            if (event.kind !== 'fraction' || event.total <= 0) return;
            const percent = (100 * event.done) / event.total;
            progress.report({ increment: Math.max(0, percent - shown), message: fractionMessage(event) });
            shown = Math.max(shown, percent);
          },
        });
      } finally {
        cancel.dispose();
      }
    });
    services.log.info(`${what}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (err) {
    if (isCancelled(err)) {
      services.log.info(`${what}: cancelled after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      vscode.window.setStatusBarMessage(vscode.l10n.t('Polyglot Lens: cancelled'), 4000);
      return undefined;
    }
    await showEngineError(services, what, err);
    return undefined;
  }
}

/** Shows an engine error as "Polyglot Lens: <message> <hint>" and logs it; resolves with the chosen action. */
export async function showEngineError(services: LensServices, what: string, err: unknown, ...actions: string[]): Promise<string | undefined> {
  const error = err instanceof EngineError ? err : new EngineError('INTERNAL', err instanceof Error ? err.message : String(err));
  services.log.error(`${what}: ${error.code} ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
  // A notification shows no `detail` (only modal dialogs do): the hint goes into the message.
  return vscode.window.showErrorMessage(vscode.l10n.t('Polyglot Lens: {0}', [error.message, error.hint].filter(Boolean).join(' ')), ...actions);
}
