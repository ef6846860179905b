// Language codes. The project speaks ISO 639-1 (two letters) wherever one exists, because that is what
// fastText lid.176 returns; ISO 639-3 / BCP 47 inputs are folded to it.

/** ISO 639-3 (and B/T variants) → ISO 639-1 for the languages the project works with, plus common neighbours. */
const ISO3_TO_ISO1: Readonly<Record<string, string>> = {
  eng: 'en', fra: 'fr', fre: 'fr', deu: 'de', ger: 'de', spa: 'es', ita: 'it', por: 'pt', rus: 'ru', zho: 'zh', chi: 'zh',
  cmn: 'zh', jpn: 'ja', tur: 'tr', ces: 'cs', cze: 'cs', ara: 'ar', arb: 'ar', hin: 'hi', vie: 'vi', ell: 'el', gre: 'el',
  ind: 'id', kor: 'ko', nld: 'nl', dut: 'nl', pol: 'pl', ukr: 'uk', swe: 'sv', fin: 'fi', heb: 'he', fas: 'fa', per: 'fa',
  pes: 'fa', ben: 'bn', tha: 'th', ron: 'ro', rum: 'ro', hun: 'hu', dan: 'da', nob: 'no', nor: 'no', cat: 'ca', bul: 'bg',
};

/** English names of the project's core languages (for messages and UI). */
export const LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  en: 'English', fr: 'French', de: 'German', es: 'Spanish', it: 'Italian', pt: 'Portuguese', ru: 'Russian', zh: 'Chinese',
  ja: 'Japanese', tr: 'Turkish', cs: 'Czech', ar: 'Arabic', hi: 'Hindi', vi: 'Vietnamese', el: 'Greek', id: 'Indonesian', ko: 'Korean',
};

/**
 * Normalises a language tag to the project's code: lower case, primary subtag only (`pt-BR` → `pt`,
 * `zh_Hans` → `zh`), ISO 639-3 folded to 639-1 where one exists (`fra` → `fr`). Returns null if it is not a tag.
 */
export function normalizeLanguageCode(tag: string): string | null {
  const primary = tag.trim().split(/[-_]/)[0]?.toLowerCase() ?? '';
  if (!/^[a-z]{2,3}$/.test(primary)) return null;
  return ISO3_TO_ISO1[primary] ?? primary;
}
