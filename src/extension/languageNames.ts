/**
 * Language names as the UI shows them, in VS Code's display language: `fr` is "French" in English,
 * "français" in French, "法语" in Chinese. The names come from ICU (`Intl.DisplayNames`, full ICU in VS
 * Code's extension host and in Node) rather than from the l10n bundles, so every language a model or a
 * corpus brings has a name without a translator. Free of `vscode` (the tree views, the panel's view model
 * and their tests use it); activation calls setDisplayLanguage(vscode.env.language).
 */
import { LANGUAGE_NAMES } from '../engine/corpus/languages';

let displayNames: Intl.DisplayNames | undefined;

/** `locale` is a BCP 47 tag such as `vscode.env.language` ('en', 'fr', 'zh-cn'); English keeps the engine's names. */
export function setDisplayLanguage(locale: string | undefined): void {
  displayNames = undefined;
  if (locale === undefined || locale === '' || /^en\b/i.test(locale)) return;
  try {
    displayNames = new Intl.DisplayNames([locale], { type: 'language', fallback: 'none' });
  } catch {
    // An unknown locale: English names.
  }
}

/** `fr` → `French` (or its name in the display language); unknown codes stay as they are. */
export function languageName(code: string): string {
  let local: string | undefined;
  try {
    local = displayNames?.of(code);
  } catch {
    // Not a well-formed code (RangeError): fall through.
  }
  return local ?? LANGUAGE_NAMES[code] ?? code;
}
