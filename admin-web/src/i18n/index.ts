// The admin app's i18next: every catalogue in ./locales (one JSON file per language, found at
// build time), the language chosen by ./languages.ts, and the switch that remembers a choice.

import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { DEFAULT_LANGUAGE, detectLanguage, LANGUAGE_KEY } from './languages';

type Catalogue = Record<string, unknown>;

const files = import.meta.glob<Catalogue>('./locales/*.json', { eager: true, import: 'default' });

/** The catalogues by language code (the file's name). */
export const CATALOGUES: Record<string, Catalogue> = Object.fromEntries(
  Object.entries(files).map(([path, catalogue]) => [path.replace(/^.*\/([^/]+)\.json$/, '$1'), catalogue]),
);

/** The languages the app speaks, English first. */
export const LANGUAGES: string[] = Object.keys(CATALOGUES).sort((a, b) =>
  a === DEFAULT_LANGUAGE ? -1 : b === DEFAULT_LANGUAGE ? 1 : a.localeCompare(b),
);

function storedChoice(): string | null {
  try {
    return window.localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

function browserLanguages(): string[] {
  if (typeof navigator === 'undefined') return [];
  return navigator.languages?.length ? [...navigator.languages] : navigator.language ? [navigator.language] : [];
}

void i18n.use(initReactI18next).init({
  resources: Object.fromEntries(Object.entries(CATALOGUES).map(([l, catalogue]) => [l, { translation: catalogue }])),
  lng: detectLanguage(storedChoice(), browserLanguages(), LANGUAGES),
  fallbackLng: DEFAULT_LANGUAGE,
  supportedLngs: LANGUAGES,
  // React escapes what it renders.
  interpolation: { escapeValue: false },
  initAsync: false,
});

/** The page's `lang` (screen readers, hyphenation) and its title follow the language. */
function markDocument(lang: string) {
  if (typeof document === 'undefined') return;
  document.documentElement.lang = lang;
  document.title = i18n.t('app.title');
}
markDocument(i18n.language);
i18n.on('languageChanged', markDocument);

/** The language the app speaks now (`en`, `ru`). */
export function currentLanguage(): string {
  return i18n.resolvedLanguage ?? i18n.language ?? DEFAULT_LANGUAGE;
}

/**
 * The locale for Intl: the browser's own when it is a variant of the app's language (en-GB keeps
 * its day-month order and 24-hour clock), else the app's language.
 */
export function intlLocale(): string {
  const lang = currentLanguage();
  const own = browserLanguages().find((tag) => tag.toLowerCase().split(/[-_]/)[0] === lang);
  return own ?? lang;
}

/** The user's choice: spoken now and remembered for the next visit. */
export function chooseLanguage(lang: string): Promise<unknown> {
  try {
    window.localStorage.setItem(LANGUAGE_KEY, lang);
  } catch {
    // Storage disabled: the choice lasts until the tab closes.
  }
  return i18n.changeLanguage(lang);
}

export default i18n;
