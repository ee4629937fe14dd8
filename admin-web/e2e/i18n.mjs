// The admin app in Russian, end to end (tests/admin_web_ru.rs): a browser whose language is
// Russian gets the app in Russian (sign-in, numbers, usage, portals, the sandbox), nothing on
// those screens is a catalogue key or an English text that has a Russian translation, and a
// language chosen in the switcher is remembered after a reload. Screenshots: ru-*.png.

import fs from 'node:fs';
import { byTestId, cfg, check, LAPTOP, log, login, nav, PHONE, shot, title, TIMEOUT } from './lib.mjs';

const PLURAL = /_(zero|one|two|few|many|other)$/;

function flatten(tree, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(tree)) {
    if (typeof v === 'string') out[`${prefix}${k}`] = v;
    else flatten(v, `${prefix}${k}.`, out);
  }
  return out;
}

const catalogue = (lang) => flatten(JSON.parse(fs.readFileSync(new URL(`../src/i18n/locales/${lang}.json`, import.meta.url), 'utf8')));
const EN = catalogue('en');
const RU = catalogue('ru');
const KEYS = new Set([...Object.keys(EN), ...Object.keys(EN).map((k) => k.replace(PLURAL, ''))]);
const RU_TEXT = Object.values(RU).join('\n');
/** The English words of every text that Russian says otherwise (placeholders and markup cut out). */
const ENGLISH = [
  ...new Set(
    Object.entries(EN)
      // A language is named in itself (the switcher, the portal's language): English is "English".
      .filter(([k, v]) => RU[k] !== v && k !== 'language.name')
      .flatMap(([, v]) => v.split(/\{\{[^}]*\}\}|<\/?\w+>/))
      .map((f) => f.trim().replace(/^[\s.,:;·(]+|[\s.,:;·)]+$/g, ''))
      .filter((f) => f.length >= 4 && /[A-Za-z]{3}/.test(f) && !RU_TEXT.includes(f)),
  ),
];
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The page (or `scope`) reads Russian: no catalogue key, no English catalogue text, the words
 * expected there, and (`ratio`) mostly Cyrillic letters.
 */
async function russian(page, what, words, { scope = 'body', ratio = true, without = null } = {}) {
  // What the service itself wrote (`without`: the sandbox's trace of API calls) is not the app's.
  const text = await page.locator(scope).first().evaluate((el, skip) => {
    const hidden = skip ? [...document.querySelectorAll(skip)] : [];
    hidden.forEach((e) => (e.style.display = 'none'));
    const t = el.innerText;
    hidden.forEach((e) => (e.style.display = ''));
    return t;
  }, without);
  const keys = [...new Set(text.match(/\b[a-zA-Z]+(?:\.[a-zA-Z_]+)+\b/g) ?? [])].filter((k) => KEYS.has(k));
  check(keys.length === 0, `${what}: catalogue keys shown: ${keys.join(', ')}`);
  // innerText is as shown: badges and labels may be upper-cased by CSS. (`/template` is a command.)
  const english = ENGLISH.filter((f) => new RegExp(`(^|[^A-Za-z/])${escape(f)}([^A-Za-z]|$)`, 'i').test(text));
  check(english.length === 0, `${what}: left in English: ${english.map((e) => `"${e}"`).join(', ')}\n---\n${text}`);
  for (const w of words) check(text.toLowerCase().includes(w.toLowerCase()), `${what}: "${w}" is not on the page\n---\n${text}`);
  if (ratio) {
    const cyrillic = (text.match(/[А-Яа-яЁё]/g) ?? []).length;
    const latin = (text.match(/[A-Za-z]/g) ?? []).length;
    check(cyrillic > 2 * latin, `${what}: ${cyrillic} Cyrillic letters against ${latin} Latin ones\n---\n${text}`);
  }
  log(`${what}: Russian (${text.length} characters checked against ${ENGLISH.length} English texts)`);
}

async function choose(page, lang) {
  await byTestId(page, 'language-switch').click();
  await byTestId(page, `language-${lang}`).click();
  await page.locator(`[data-testid="language-switch"][data-language="${lang}"]`).waitFor({ timeout: TIMEOUT });
}

async function lang(page) {
  return page.evaluate(() => document.documentElement.lang);
}

/** A tenant admin whose browser speaks Russian. */
async function ruAdminScenario(page) {
  const x = cfg.expect;
  await page.goto(`${cfg.url}/admin/`);
  await page.waitForURL(/\/admin\/login/, { timeout: TIMEOUT });
  await byTestId(page, 'login-submit').filter({ hasText: 'Войти' }).waitFor({ timeout: TIMEOUT });
  check((await lang(page)) === 'ru', `the page says it is Russian: ${await lang(page)}`);
  await shot(page, 'login');
  await russian(page, 'sign-in', ['Войти', 'Пароль', 'Открытые линии Битрикс24']);
  // A refusal in Russian.
  await page.locator('input[name="email"]').fill(cfg.email);
  await page.locator('input[name="password"]').fill('not-the-password-at-all');
  await byTestId(page, 'login-submit').click();
  await byTestId(page, 'login-error').filter({ hasText: 'Неверный email или пароль' }).waitFor({ timeout: TIMEOUT });

  await login(page, cfg.email, cfg.password);
  await title(page, 'Номера');
  const row = page.locator('[data-testid="row"]', { hasText: `+${x.display_phone}` });
  await row.locator('[data-testid="session-state"][data-state="ok"]', { hasText: 'Подключён' }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'numbers');
  await russian(page, 'numbers', ['Номера', 'Подключить номер', 'Открытая линия', 'Сеанс', 'Администратор организации']);
  await byTestId(page, 'connect-number').click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('input[name="phone_number_id"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'connect');
  await russian(page, 'connect a number', ['Подключение номера WhatsApp', 'Токен доступа', 'Портал Битрикс24'], { scope: '[role="dialog"]', ratio: false });
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden', timeout: TIMEOUT });

  await nav(page, 'usage');
  await title(page, 'Использование');
  await byTestId(page, 'total-inbound').locator('[data-testid="stat-value"]', { hasText: String(x.inbound_total) }).waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'plan-usage').locator('[data-testid="quota-messages"]').waitFor({ timeout: TIMEOUT });
  await page.locator('.recharts-surface').first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'usage');
  await russian(page, 'usage', ['Использование', 'От клиентов', 'От операторов', 'Сообщения по дням', 'Тариф', 'Экспорт в CSV']);
  // The longer Russian words on a phone's width.
  await page.setViewportSize(PHONE);
  await byTestId(page, 'total-inbound').waitFor({ timeout: TIMEOUT });
  await shot(page, 'usage-phone');
  await page.setViewportSize(LAPTOP);

  await nav(page, 'conversations');
  await title(page, 'Диалоги');
  await page.locator('[data-testid="row"]', { hasText: x.customer_name }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'conversations');
  await russian(page, 'conversations', ['Диалоги', 'Клиент', 'Окно 24 часа']);

  // The service's own words come in Russian too (the app asks with Accept-Language); the error's
  // code stays an English identifier.
  await page.goto(`${cfg.url}/admin/messages/999999`);
  const refusal = byTestId(page, 'error');
  await refusal.waitFor({ timeout: TIMEOUT });
  const said = await refusal.innerText();
  check(said.includes('Не найдено') && said.includes('(unknown_message)'), `a missing message: ${said}`);
  const message = said.replace('Не найдено', '').replace('(unknown_message)', '').replace('Повторить', '');
  check(/[А-Яа-яЁё]{3}/.test(message) && !/[A-Za-z]{3}/.test(message), `the service's message is Russian: ${message}`);
  await shot(page, 'service-message');
  await nav(page, 'conversations');
  await title(page, 'Диалоги');

  // The user's choice beats the browser's language, and outlives a reload.
  await choose(page, 'en');
  await title(page, 'Conversations');
  check((await lang(page)) === 'en', 'the page says it is English now');
  await page.reload();
  await title(page, 'Conversations');
  check((await page.evaluate(() => localStorage.getItem('b24wa.admin.language'))) === 'en', 'the choice is stored');
  await shot(page, 'chosen-english');
  await choose(page, 'ru');
  await title(page, 'Диалоги');
  await page.reload();
  await title(page, 'Диалоги');

  await nav(page, 'portals');
  await title(page, 'Порталы и линии');
  await page.locator('[data-testid="line"]').first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'portals');
  await russian(page, 'portals', ['Порталы и линии', 'Открытая линия №', 'Приложение установлено']);
  // Last: the portal's language for operators, once the service has it (`language` on the
  // portal): follow Bitrix24, then English chosen here, kept after a reload.
  if (cfg.portal_language) {
    const select = byTestId(page, 'portal-language');
    await select.waitFor({ timeout: TIMEOUT });
    const auto = await select.locator('option[value="auto"]').innerText();
    check(auto.startsWith('Как в Битрикс24'), `the first choice follows Bitrix24: ${auto}`);
    await select.selectOption('en');
    await page.locator('[data-testid="portal-language"][data-language="en"]').waitFor({ timeout: TIMEOUT });
    await page.reload();
    await page.locator('[data-testid="portal-language"][data-language="en"]').waitFor({ timeout: TIMEOUT });
    check((await byTestId(page, 'portal-language').inputValue()) === 'en', 'the portal keeps English after a reload');
    await shot(page, 'portal-language');
  } else {
    log('the service has no portal language yet (GET /portals without `language`): that step is skipped');
  }
}

/** The sandbox (no sign-in) in a Russian browser: both numbers. */
async function ruSandboxScenario(page) {
  const phoneMsg = (from, text) => page.locator(`[data-testid="phone-message"][data-from="${from}"]`, { hasText: text });
  const consoleMsg = (from, text) => page.locator(`[data-testid="console-message"][data-from="${from}"]`, { hasText: text });
  await page.goto(`${cfg.url}/admin/sandbox`);
  await byTestId(page, 'phone').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'console').waitFor({ timeout: TIMEOUT });
  await page.getByText('Песочница b24wa').waitFor({ timeout: TIMEOUT });
  await shot(page, 'empty');
  await russian(page, 'the empty sandbox', ['Песочница b24wa', 'Напишите от имени клиента', 'Что сейчас произошло', 'Веб-шлюз'], { without: '[data-testid="trace-entry"]' });

  await byTestId(page, 'phone-input').fill('Здравствуйте! Мой заказ 1042 готов?');
  await byTestId(page, 'phone-send').click();
  await consoleMsg('customer', 'Мой заказ 1042').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'console-input').fill('Да, отправим сегодня.');
  await byTestId(page, 'console-send').click();
  await phoneMsg('business', 'отправим сегодня').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="console-message"][data-from="operator"][data-state="read"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'conversation');
  // The trace lists the service's calls (method names): only the panes are held to Russian.
  for (const pane of ['phone', 'console']) {
    await russian(page, `the sandbox's ${pane}`, [], { scope: `[data-testid="${pane}"]`, ratio: false });
  }
  await russian(page, 'the sandbox', ['Отправить', 'Открытая линия 1'], { ratio: false, without: '[data-testid="trace-entry"]' });

  await byTestId(page, 'number-switch').getByText('Cloud API').click();
  await byTestId(page, 'window-card').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'phone-input').fill('Где мой заказ A-42?');
  await byTestId(page, 'phone-send').click();
  await consoleMsg('customer', 'Где мой заказ').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="window-state"][data-state="open"]', { hasText: 'Открыто' }).waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'window-label').getByText(/Открыто до/).waitFor({ timeout: TIMEOUT });
  await shot(page, 'cloud');
  await russian(page, 'the Cloud API window', ['Окно 24 часа', 'Шаблоны этого аккаунта WhatsApp', 'Вставить'], { scope: '[data-testid="window-card"]', ratio: false });
}

export const I18N_SCENARIOS = { 'ru-admin': ruAdminScenario, 'ru-sandbox': ruSandboxScenario };
