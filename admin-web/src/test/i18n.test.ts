// The catalogues: every language has the same keys (with the plural forms its language needs),
// every key the code uses exists and every key is used; the language rule; plural, date and number
// formatting in English and Russian.

import { afterEach, describe, expect, it } from 'vitest';
import i18n, { CATALOGUES, chooseLanguage, intlLocale, LANGUAGES } from '../i18n';
import { detectLanguage, LANGUAGE_KEY, supportedLanguage } from '../i18n/languages';
import { bitrix24LanguageName, followed } from '../components/PortalLanguage';
import { formatDay, formatGap, formatMinutes, formatNumber, formatRelative, formatShortDate } from '../lib/format';
import { healthProblems, overQuotaMessage, quotaAmount } from '../lib/quota';
import { dayTime, windowLabel } from '../lib/sandbox';

type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') out[`${prefix}${k}`] = v;
    else Object.assign(out, flatten(v, `${prefix}${k}.`));
  }
  return out;
}

const PLURAL = /_(zero|one|two|few|many|other)$/;
const flat = Object.fromEntries(Object.entries(CATALOGUES).map(([lang, c]) => [lang, flatten(c as Tree)]));
const base = (key: string) => key.replace(PLURAL, '');
const pluralBases = new Set(Object.values(flat).flatMap((keys) => Object.keys(keys).filter((k) => PLURAL.test(k)).map(base)));
const plainKeys = (lang: string) => Object.keys(flat[lang] ?? {}).filter((k) => !PLURAL.test(k)).sort();
const placeholders = (text: string) => [...text.matchAll(/\{\{\s*(\w+)/g)].map((m) => m[1]).sort();

// The app's sources as text (not the tests, not the catalogues).
const sources = import.meta.glob<string>(['../**/*.{ts,tsx}', '!../test/**'], { query: '?raw', import: 'default', eager: true });

/** Every key the code names: t('…') / i18n.t('…') and <Trans i18nKey="…">. */
function usedKeys(): Map<string, string> {
  const used = new Map<string, string>();
  for (const [file, text] of Object.entries(sources)) {
    for (const m of text.matchAll(/\bt\(\s*(['"`])([^'"`]+)\1/g)) used.set(m[2] ?? '', file);
    for (const m of text.matchAll(/i18nKey=["']([^"']+)["']/g)) used.set(m[1] ?? '', file);
  }
  return used;
}

afterEach(async () => {
  await i18n.changeLanguage('en');
  window.localStorage.removeItem(LANGUAGE_KEY);
});

describe('the catalogues', () => {
  it('are English and Russian, at least', () => {
    expect(LANGUAGES[0]).toBe('en');
    expect(LANGUAGES).toContain('ru');
    expect(Object.keys(flat.en ?? {}).length).toBeGreaterThan(400);
  });

  it('have the same keys in every language', () => {
    for (const lang of LANGUAGES) expect(plainKeys(lang), lang).toEqual(plainKeys('en'));
  });

  it("have every plural form a language needs (Russian: one, few, many and other for fractions)", () => {
    expect(pluralBases.size).toBeGreaterThan(10);
    for (const lang of LANGUAGES) {
      const needed = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
      for (const key of pluralBases) {
        const have = Object.keys(flat[lang] ?? {}).filter((k) => base(k) === key && k !== key).map((k) => k.slice(key.length + 1));
        expect(have.sort(), `${lang}: ${key}`).toEqual([...needed].sort());
      }
    }
    expect(new Intl.PluralRules('ru').resolvedOptions().pluralCategories).toEqual(expect.arrayContaining(['one', 'few', 'many']));
  });

  it('keep the same placeholders and markup in every language', () => {
    const en = flat.en ?? {};
    for (const lang of LANGUAGES) {
      for (const [key, text] of Object.entries(flat[lang] ?? {})) {
        const english = en[key] ?? en[`${base(key)}_other`] ?? '';
        expect(placeholders(text), `${lang}: ${key}`).toEqual(placeholders(english));
        expect(text.match(/<\/?\w+>/g) ?? [], `${lang}: ${key}`).toEqual(english.match(/<\/?\w+>/g) ?? []);
        expect(text.trim(), `${lang}: ${key}`).not.toBe('');
      }
    }
  });

  it('hold every key the code uses, and only those', () => {
    const used = usedKeys();
    expect(used.size).toBeGreaterThan(400);
    const en = flat.en ?? {};
    const missing = [...used].filter(([k]) => !(k in en) && !pluralBases.has(k)).map(([k, file]) => `${k} (${file})`);
    expect(missing).toEqual([]);
    const unused = Object.keys(en).filter((k) => !used.has(base(k)) && !used.has(k));
    expect(unused).toEqual([]);
  });

  it('are named statically in the code, so that the check above sees them', () => {
    const dynamic: string[] = [];
    for (const [file, text] of Object.entries(sources)) {
      for (const m of text.matchAll(/\bt\(\s*(?!['"])([^)]{0,40})/g)) dynamic.push(`${file}: t(${m[1]}`);
      for (const m of text.matchAll(/\bt\(\s*`[^`]*\$\{/g)) dynamic.push(`${file}: ${m[0]}`);
    }
    expect(dynamic).toEqual([]);
  });
});

describe('the language', () => {
  const AVAILABLE = ['en', 'ru'];
  it("is the user's choice, else the browser's, else English", () => {
    expect(detectLanguage('ru', ['en-US'], AVAILABLE)).toBe('ru');
    expect(detectLanguage('xx', ['en-US'], AVAILABLE)).toBe('en');
    expect(detectLanguage(null, ['ru-RU', 'en'], AVAILABLE)).toBe('ru');
    expect(detectLanguage(null, ['en-GB', 'ru'], AVAILABLE)).toBe('en');
    expect(detectLanguage(null, ['de-DE', 'ru'], AVAILABLE)).toBe('ru');
    expect(detectLanguage(null, ['de-DE'], AVAILABLE)).toBe('en');
    expect(detectLanguage(null, [], AVAILABLE)).toBe('en');
  });

  it('reads Kazakh, Belarusian and Uzbek as Russian and Ukrainian as English (the fallback rule)', () => {
    for (const tag of ['kk-KZ', 'kk', 'be-BY', 'uz', 'kz', 'by']) expect(detectLanguage(null, [tag], AVAILABLE), tag).toBe('ru');
    for (const tag of ['uk-UA', 'uk', 'ua']) expect(detectLanguage(null, [tag], AVAILABLE), tag).toBe('en');
    expect(supportedLanguage('ua', AVAILABLE)).toBeNull();
  });

  it('is a catalogue of its own once someone adds it (locales/uk.json)', () => {
    expect(detectLanguage(null, ['uk-UA'], [...AVAILABLE, 'uk'])).toBe('uk');
    expect(supportedLanguage('ua', [...AVAILABLE, 'uk'])).toBe('uk');
    expect(detectLanguage(null, ['kk'], [...AVAILABLE, 'kk'])).toBe('kk');
  });

  it('is remembered when chosen, and marks the page', async () => {
    await chooseLanguage('ru');
    expect(i18n.language).toBe('ru');
    expect(window.localStorage.getItem(LANGUAGE_KEY)).toBe('ru');
    expect(document.documentElement.lang).toBe('ru');
    expect(document.title).toBe('Панель b24wa');
    expect(intlLocale()).toBe('ru');
    await chooseLanguage('en');
    expect(intlLocale()).toBe('en-GB');
  });

  it("of a portal follows Bitrix24's by the same rule unless chosen", async () => {
    expect(followed('ru')).toBe('ru');
    expect(followed('kz')).toBe('ru');
    expect(followed('by')).toBe('ru');
    expect(followed('ua')).toBe('en');
    expect(followed('de')).toBe('en');
    expect(followed(null)).toBe('en');
    expect(bitrix24LanguageName('ua')).toBe('Ukrainian');
    await i18n.changeLanguage('ru');
    expect(bitrix24LanguageName('ua')).toBe('украинский');
  });
});

describe('plurals', () => {
  it('in English: one and other', () => {
    expect(i18n.t('jobs.attempts', { count: 1 })).toBe('1 attempt');
    expect(i18n.t('jobs.attempts', { count: 2 })).toBe('2 attempts');
    expect(healthProblems({ ...health, numbers_not_authorized: 1, dead_jobs: 3 })).toEqual(['1 number not authorized', '3 failed jobs']);
  });

  it('in Russian: one, few and many (1 попытка, 2 попытки, 5 попыток, 21 попытка)', async () => {
    await i18n.changeLanguage('ru');
    const attempts = [1, 2, 5, 11, 21, 22, 25, 104].map((count) => i18n.t('jobs.attempts', { count }));
    expect(attempts).toEqual(['1 попытка', '2 попытки', '5 попыток', '11 попыток', '21 попытка', '22 попытки', '25 попыток', '104 попытки']);
    expect(i18n.t('templates.count', { count: 3, approved: 2 })).toBe('3 шаблона, одобрено 2');
    expect(i18n.t('templates.count', { count: 5, approved: 5 })).toBe('5 шаблонов, одобрено 5');
    expect(healthProblems({ ...health, numbers_not_authorized: 1, dead_jobs: 3, portals_uninstalled: 5 })).toEqual([
      '1 номер не авторизован',
      '3 задания с ошибкой',
      'приложение удалено на 5 порталах',
    ]);
  });

  it("in Russian in a sentence: the over-quota notice", async () => {
    await i18n.changeLanguage('ru');
    const quotas = [
      { quota: 'messages', used: 1001, limit: 1000, percent: 100.1, over: true },
      { quota: 'transcription_minutes', used: 31, limit: 31, percent: 100, over: true },
    ];
    const m = overQuotaMessage({ over_quota: ['messages', 'transcription_minutes'], quotas }, 'free') ?? '';
    expect(m).toContain('лимиты тарифа free: 1\u00a0000 сообщений и 31 минута расшифровки');
    expect(m).toContain('ничего не теряется');
    expect(quotaAmount({ used: 1200, limit: 1000 })).toBe('1\u00a0200 из 1\u00a0000');
    expect(quotaAmount({ used: 2.5, limit: null })).toBe('2,5 (без ограничений)');
  });
});

describe('dates, times and numbers', () => {
  const now = new Date(2025, 4, 3, 12, 0).getTime();
  const h = 3_600_000;

  it('in English', () => {
    expect(formatNumber(1234.5)).toBe('1,234.5');
    expect(formatDay('2026-05-03')).toBe('3 May 2026');
    expect(formatDay('2026-05-03', 'short')).toBe('3 May');
    expect(formatRelative(now - 5 * 60_000, now)).toBe('5 minutes ago');
    expect(formatRelative(now - 26 * h, now)).toBe('yesterday');
    expect(formatRelative(now - 10_000, now)).toBe('just now');
    expect(formatGap(120)).toBe('+120 ms');
    expect(formatGap(3400)).toBe('+3.4 secs');
    expect(formatMinutes(150)).toBe('2.5 mins');
    expect(dayTime(now - 25 * h, now)).toBe('11:00 yesterday');
    expect(windowLabel({ state: 'open', open_until: now + 23 * h, closed_since: null }, now)).toBe('Open until 11:00 tomorrow');
  });

  it('in Russian', async () => {
    await i18n.changeLanguage('ru');
    expect(formatNumber(1234.5)).toBe('1\u00a0234,5');
    expect(formatDay('2026-05-03')).toBe('3 мая 2026 г.');
    expect(formatDay('2026-05-03', 'short')).toBe('3 мая');
    expect(formatShortDate(now - 72 * h)).toBe('30 апр.');
    expect(formatRelative(now - 60_000, now)).toBe('1 минуту назад');
    expect(formatRelative(now - 2 * 60_000, now)).toBe('2 минуты назад');
    expect(formatRelative(now - 5 * 60_000, now)).toBe('5 минут назад');
    expect(formatRelative(now - 26 * h, now)).toBe('вчера');
    expect(formatRelative(now - 10_000, now)).toBe('только что');
    expect(formatRelative(null)).toBe('никогда');
    expect(formatGap(120)).toBe('+120 мс');
    expect(formatGap(3400)).toBe('+3,4 с');
    expect(formatMinutes(45)).toBe('45 с');
    expect(formatMinutes(150)).toBe('2,5 мин');
    expect(dayTime(now - 25 * h, now)).toBe('вчера в 11:00');
    expect(dayTime(now - 72 * h, now)).toBe('30 апр. в 12:00');
    expect(windowLabel({ state: 'open', open_until: now + 23 * h, closed_since: null }, now)).toBe('Открыто до: завтра в 11:00');
    expect(windowLabel({ state: 'closed', open_until: null, closed_since: now - h }, now)).toBe('Закрыто с: 11:00');
  });
});

const health = {
  tenant_id: 1,
  tenant_name: 'Acme',
  plan: 'free',
  status: 'error' as const,
  numbers: 2,
  numbers_not_authorized: 0,
  dead_jobs: 0,
  pending_jobs: 0,
  portals_token_errors: 0,
  portals_uninstalled: 0,
  last_message_at: null,
  over_quota: [],
};
