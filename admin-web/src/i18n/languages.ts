// Which language the admin app speaks. Pure functions (tested in test/i18n.test.ts); the
// catalogues are the files in ./locales, so adding a language is adding its file.
//
// The rule, in order:
// 1. the user's choice (the switcher; remembered in localStorage under LANGUAGE_KEY);
// 2. else the browser's languages in the user's order, the first the app can speak: a language
//    with a catalogue is itself; Kazakh, Belarusian and Uzbek (Bitrix24's kz, by, uz) read
//    Russian (the product's fallback rule, as for portals); any other (Ukrainian, Bitrix24's ua,
//    included, until someone adds locales/uk.json) is skipped for the next one;
// 3. else English.

export const LANGUAGE_KEY = 'b24wa.admin.language';
export const DEFAULT_LANGUAGE = 'en';

/** Bitrix24's language ids that are not ISO 639-1 codes, and their ISO codes. */
const BITRIX24_IDS: Record<string, string> = { ua: 'uk', kz: 'kk', by: 'be', la: 'es', br: 'pt', sc: 'zh', tc: 'zh' };

/** Languages read as Russian while they have no catalogue of their own. */
const RUSSIAN_READERS = new Set(['ru', 'kk', 'be', 'uz']);

/** `ru-RU`, `RU`, `kz` → `ru`, `ru`, `kk`: the primary subtag, lower case, Bitrix24's ids as ISO. */
export function primaryTag(tag: string): string {
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return BITRIX24_IDS[primary] ?? primary;
}

/** The catalogue for `tag` by the fallback rule, or null when the rule has nothing to say. */
export function supportedLanguage(tag: string | null | undefined, available: readonly string[]): string | null {
  if (!tag) return null;
  const primary = primaryTag(tag);
  if (!primary) return null;
  if (available.includes(primary)) return primary;
  if (RUSSIAN_READERS.has(primary) && available.includes('ru')) return 'ru';
  return null;
}

/** The language to start with: the stored choice, else the browser's, else English. */
export function detectLanguage(stored: string | null, browser: readonly string[], available: readonly string[]): string {
  if (stored && available.includes(stored)) return stored;
  for (const tag of browser) {
    const lang = supportedLanguage(tag, available);
    if (lang) return lang;
  }
  return DEFAULT_LANGUAGE;
}
