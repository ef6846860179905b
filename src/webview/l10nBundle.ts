/**
 * Hands @vscode/l10n the translations the host embedded in the panel's HTML (a `<script
 * type="application/json" id="l10n-bundle">` data block, written by renderPanelHtml: a data block is never
 * executed, so the CSP's nonce rule does not apply to it). main.ts imports this module first, so the bundle is
 * in place before any other module runs and before the first `l10n.t` call. No block, or a broken one,
 * leaves the English source strings.
 */
import * as l10n from '@vscode/l10n';

/** The element id renderPanelHtml gives the data block (kept in step with src/extension/panelHtml.ts). */
export const L10N_BUNDLE_ELEMENT_ID = 'l10n-bundle';

/** Only string (or `{message}`) values are kept: anything else in the block is ignored rather than shown. */
function readBundle(): Record<string, string> | undefined {
  const text = document.getElementById(L10N_BUNDLE_ELEMENT_ID)?.textContent;
  if (text === undefined || text === null || text.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const contents: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') contents[key] = value;
      else if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') contents[key] = (value as { message: string }).message;
    }
    return contents;
  } catch {
    console.warn('Polyglot Lens: ignored an unreadable l10n bundle; the panel stays in English.');
    return undefined;
  }
}

const bundle = readBundle();
if (bundle !== undefined) l10n.config({ contents: bundle });
