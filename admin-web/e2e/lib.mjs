// What the admin app's browser scenarios share (admin.mjs, i18n.mjs): the configuration (the JSON
// in B24WA_E2E, see tests/admin_web.rs), screenshots as <scenario>-<nn>-<name>.png in
// `screenshots`, the page helpers, and the run: Chromium with a fresh profile in the scenario's
// locale (English by default), failing on a page error. Exit 0 = passed.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const cfg = JSON.parse(process.env.B24WA_E2E ?? 'null');
if (!cfg || !cfg.url || !cfg.scenario) {
  console.error('B24WA_E2E must hold {"url", "scenario", "email", "password", ...}: run through `cargo nextest run --test admin_web`');
  process.exit(2);
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const LAPTOP = { width: 1366, height: 860 };
export const PHONE = { width: 390, height: 844 };
export const TIMEOUT = 20_000;

export const shots = cfg.screenshots ?? path.resolve('target/screenshots');
fs.mkdirSync(shots, { recursive: true });
// This scenario's pictures from an earlier run would mislead a reviewer.
for (const f of fs.readdirSync(shots)) {
  if (f.startsWith(`${cfg.scenario}-`)) fs.rmSync(path.join(shots, f), { force: true });
}
let shotNo = 0;

export function log(msg) {
  console.log(`e2e ${cfg.scenario}: ${msg}`);
}

export class Failure extends Error {}

export function check(cond, msg) {
  if (!cond) throw new Failure(msg);
}

export async function shot(page, name) {
  shotNo += 1;
  const file = path.join(shots, `${cfg.scenario}-${String(shotNo).padStart(2, '0')}-${name}.png`);
  // Let transitions and charts settle before the picture.
  await page.waitForTimeout(300);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${path.relative(process.cwd(), file)}`);
}

export const byTestId = (page, id) => page.locator(`[data-testid="${id}"]`);

export async function login(page, email, password) {
  await page.goto(`${cfg.url}/admin/`);
  await page.waitForURL(/\/admin\/login/, { timeout: TIMEOUT });
  await page.locator('input[name="email"]').fill(email);
  await page.locator('input[name="password"]').fill(password);
  await byTestId(page, 'login-submit').click();
  await byTestId(page, 'user-menu').waitFor({ timeout: TIMEOUT });
}

/** Waits until `locator` matches exactly `n` elements (lists re-render while they load). */
export async function waitCount(locator, n, what) {
  const deadline = Date.now() + TIMEOUT;
  let count = -1;
  while (Date.now() < deadline) {
    count = await locator.count();
    if (count === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Failure(`${what}: expected ${n}, found ${count}`);
}

export async function title(page, text) {
  await page.locator('[data-testid="page-title"]', { hasText: text }).first().waitFor({ timeout: TIMEOUT });
}

export async function nav(page, to) {
  const link = byTestId(page, `nav-${to}`);
  if (!(await link.isVisible())) await byTestId(page, 'burger').click();
  await link.click();
}

/** Runs the configured scenario of `scenarios` in a fresh Chromium profile. */
export async function runMain(scenarios) {
  const run = scenarios[cfg.scenario];
  if (!run) throw new Failure(`unknown scenario ${cfg.scenario}`);
  const executablePath = cfg.chromium ?? '/usr/bin/chromium';
  check(fs.existsSync(executablePath), `no Chromium at ${executablePath} (apt-get install chromium)`);
  // A fresh profile for every run: nothing carries over between scenarios.
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'b24wa-e2e-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: LAPTOP,
    acceptDownloads: true,
    // The browser's language: the app follows it until the user chooses one.
    locale: cfg.locale ?? 'en-GB',
    timezoneId: 'UTC',
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(TIMEOUT);
  const problems = [];
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('console', (m) => {
    // CSP refusals and errors the app caught (a crashed page logs its error); a failed request
    // (e.g. the 401 of an expired session) is the app's business, not a problem.
    if (m.type() === 'error' && /Content Security Policy|Refused to|TypeError|ReferenceError|RangeError|SyntaxError/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  try {
    await run(page);
    check(problems.length === 0, `the page reported errors:\n${problems.join('\n')}`);
    log('passed');
  } catch (e) {
    try {
      await page.screenshot({ path: path.join(shots, `${cfg.scenario}-FAILED.png`), fullPage: true });
    } catch {
      // The page may be gone.
    }
    console.error(`e2e ${cfg.scenario}: FAILED at ${page.url()}\n${e instanceof Failure ? e.message : e?.stack ?? e}`);
    if (problems.length) console.error(problems.join('\n'));
    process.exitCode = 1;
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

