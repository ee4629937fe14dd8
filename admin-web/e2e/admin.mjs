// End-to-end scenarios of the admin app in headless Chromium (Debian's, driven by playwright-core;
// no browser download), against a real service that tests/admin_web.rs started with the
// simulators and filled with data; the Russian ones are in i18n.mjs. Exit 0 = passed.

import fs from 'node:fs';
import path from 'node:path';
import { byTestId, cfg, check, LAPTOP, log, login, nav, PHONE, runMain, shot, shots, title, TIMEOUT, waitCount } from './lib.mjs';
import { I18N_SCENARIOS } from './i18n.mjs';

// ---------------------------------------------------------------------------------------------

async function tenantScenario(page) {
  const x = cfg.expect;
  await page.goto(`${cfg.url}/admin/`);
  await page.waitForURL(/\/admin\/login/, { timeout: TIMEOUT });
  await shot(page, 'login');
  // A wrong password is told plainly.
  await page.locator('input[name="email"]').fill(cfg.email);
  await page.locator('input[name="password"]').fill('not-the-password-at-all');
  await byTestId(page, 'login-submit').click();
  await byTestId(page, 'login-error').waitFor({ timeout: TIMEOUT });
  await login(page, cfg.email, cfg.password);
  const session = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('b24wa.admin.session') ?? 'null'));
  const first = await session();
  check(first?.accessToken && first?.refreshToken, 'the session is kept in sessionStorage');

  // Numbers: the Cloud number with its live state; a tenant admin's navigation.
  await title(page, 'Numbers');
  const navs = await page.locator('[data-testid^="nav-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
  check(!navs.includes('nav-audit') && !navs.includes('nav-tenants'), `a tenant admin sees no support pages: ${navs}`);
  const row = page.locator('[data-testid="row"]', { hasText: `+${x.display_phone}` });
  await row.waitFor({ timeout: TIMEOUT });
  await row.locator('[data-testid="session-state"][data-state="ok"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'numbers');

  if (cfg.gateway) {
    // Connect a gateway number through the form; the QR screen shows the code until the phone
    // is linked (the test scans it in the simulator once the QR was fetched).
    const g = cfg.gateway;
    await byTestId(page, 'connect-number').click();
    await byTestId(page, 'tab-gateway').click();
    const dialog = page.getByRole('dialog');
    await dialog.locator('input[name="line"]').fill(g.line);
    await dialog.locator('input[name="api_url"]').fill(g.api_url);
    await dialog.locator('input[name="id_instance"]').fill(g.id_instance);
    await dialog.locator('input[name="api_token_instance"]').fill(g.api_token_instance);
    await dialog.locator('input[name="display_phone"]').fill(g.display_phone);
    await shot(page, 'connect-gateway');
    await byTestId(page, 'connect-submit').click();
    await page.waitForURL(/\/admin\/numbers\/\d+\/qr$/, { timeout: TIMEOUT });
    const qr = byTestId(page, 'qr-image');
    await qr.waitFor({ timeout: TIMEOUT });
    const src = await qr.getAttribute('src');
    check(src?.startsWith('data:image/png;base64,'), `the QR is a PNG data URL: ${src?.slice(0, 40)}`);
    await shot(page, 'qr');
    // Until the phone scans it, the banner over the page names the number with a link to this QR
    // (the test scans only once the QR screen asked twice, after the banner was drawn).
    const qrPath = new URL(page.url()).pathname;
    const relink = page.locator('[data-testid="relink-banner"] [data-testid="relink-qr"]');
    await relink.first().waitFor({ timeout: TIMEOUT });
    const hrefs = await relink.evaluateAll((links) => links.map((a) => new URL(a.href).pathname));
    check(hrefs.includes(qrPath), `the relink banner links to ${qrPath}: ${hrefs}`);
    await shot(page, 'relink-banner');
    await byTestId(page, 'qr-linked').waitFor({ timeout: 40_000 });
    await shot(page, 'qr-linked');
    await nav(page, 'numbers');
    const gw = page.locator('[data-testid="row"]', { hasText: `+${g.display_phone}` });
    await gw.locator('[data-testid="session-state"][data-state="authorized"]').waitFor({ timeout: TIMEOUT });
    // Linked: the banner is gone.
    await byTestId(page, 'relink-banner').waitFor({ state: 'detached', timeout: TIMEOUT });
    // The portal with both lines: the Cloud number on one, the linked phone on the other.
    await nav(page, 'portals');
    await title(page, 'Portals');
    await page.locator('[data-testid="line"]', { hasText: `#${g.line}` }).locator('[data-state="authorized"]').waitFor({ timeout: TIMEOUT });
    await waitCount(page.locator('[data-testid="line"]'), 2, 'lines on the portal');
    await shot(page, 'portals');
  }

  // Conversations → the chat: the customer's message and the operator's answer with ticks.
  await nav(page, 'conversations');
  await title(page, 'Conversations');
  const chat = page.locator('[data-testid="row"]', { hasText: x.customer_name });
  await chat.waitFor({ timeout: TIMEOUT });
  await shot(page, 'conversations');
  await chat.click();
  const inbound = page.locator('[data-testid="message"][data-direction="in"]', { hasText: x.inbound_text });
  await inbound.waitFor({ timeout: TIMEOUT });
  // Read once an operator answered: two blue ticks.
  await inbound.locator('[data-testid="ticks"][data-ticks="2"][data-color="blue"]').waitFor({ timeout: TIMEOUT });
  const outbound = page.locator('[data-testid="message"][data-direction="out"]', { hasText: x.outbound_text });
  await outbound.locator('[data-testid="ticks"][data-ticks="2"][data-color="blue"]').waitFor({ timeout: TIMEOUT });
  if (x.failed_text) {
    const failed = page.locator('[data-testid="message"][data-status="failed"]', { hasText: x.failed_text });
    await failed.locator('[data-testid="message-error"]').waitFor({ timeout: TIMEOUT });
    await failed.locator('[data-testid="ticks"][data-kind="failed"]').waitFor({ timeout: TIMEOUT });
  }
  await shot(page, 'messages');

  // A phone's width: the same chat, then the numbers as cards and the menu as a drawer.
  await page.setViewportSize(PHONE);
  await page.reload();
  await inbound.waitFor({ timeout: TIMEOUT });
  await shot(page, 'messages-phone');
  await byTestId(page, 'burger').click();
  await byTestId(page, 'nav-numbers').click();
  await page.locator('[data-testid="row"]', { hasText: `+${x.display_phone}` }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'numbers-phone');
  await page.setViewportSize(LAPTOP);

  // Usage of its own tenant.
  await nav(page, 'usage');
  await byTestId(page, 'total-inbound').locator('[data-testid="stat-value"]', { hasText: String(x.inbound_total) }).waitFor({ timeout: TIMEOUT });
  // This month against the plan: a bar per quota.
  await byTestId(page, 'plan-usage').locator('[data-testid="quota-messages"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'usage');

  // A data-access request: the conversation exported as CSV (a real download), then the customer
  // erased, which waits for their phone to be typed; the usage stays as it was.
  await nav(page, 'conversations');
  await page.locator('[data-testid="row"]', { hasText: x.customer_name }).click();
  await inbound.waitFor({ timeout: TIMEOUT });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), byTestId(page, 'export-csv').click()]);
  const exported = path.join(shots, `${cfg.scenario}-conversation.csv`);
  await download.saveAs(exported);
  const csv = fs.readFileSync(exported, 'utf8');
  check(csv.includes(x.inbound_text) && csv.includes(x.outbound_text), `the export holds both sides: ${csv.slice(0, 300)}`);
  await byTestId(page, 'erase-customer').click();
  const erase = byTestId(page, 'erase-confirm');
  await erase.waitFor({ timeout: TIMEOUT });
  check(await erase.isDisabled(), 'erasing waits for the phone to be typed');
  await byTestId(page, 'erase-confirm-input').fill('+1 555 000');
  check(await erase.isDisabled(), 'another phone does not confirm');
  await byTestId(page, 'erase-confirm-input').fill(`+${x.customer_phone}`);
  await shot(page, 'erase-confirm');
  await erase.click();
  await page.waitForURL(/\/admin\/conversations$/, { timeout: TIMEOUT });
  await page.locator('[data-testid="row"]', { hasText: x.customer_name }).waitFor({ state: 'detached', timeout: TIMEOUT });
  await nav(page, 'usage');
  await byTestId(page, 'total-inbound').locator('[data-testid="stat-value"]', { hasText: String(x.inbound_total) }).waitFor({ timeout: TIMEOUT });

  // The access token (8 s here) was refreshed without the user noticing.
  const deadline = Date.now() + TIMEOUT;
  while ((await session())?.accessToken === first.accessToken && Date.now() < deadline) await page.waitForTimeout(250);
  check((await session())?.accessToken !== first.accessToken, 'the access token was refreshed while the pages were used');

  // The session ends by itself (tokens no longer accepted): back to sign-in with a message.
  await page.evaluate(() => {
    sessionStorage.setItem('b24wa.admin.session', JSON.stringify({ accessToken: 'stale', refreshToken: 'stale', expiresAt: Date.now() + 3_600_000 }));
  });
  await page.goto(`${cfg.url}/admin/numbers`);
  await page.waitForURL(/\/admin\/login/, { timeout: TIMEOUT });
  const notice = byTestId(page, 'login-notice');
  await notice.waitFor({ timeout: TIMEOUT });
  check((await notice.innerText()).includes('expired'), `the sign-in page says the session expired: ${await notice.innerText()}`);
  await shot(page, 'session-expired');
  // Signing in again returns to the page asked for; signing out ends the session.
  await page.locator('input[name="email"]').fill(cfg.email);
  await page.locator('input[name="password"]').fill(cfg.password);
  await byTestId(page, 'login-submit').click();
  await title(page, 'Numbers');
  await byTestId(page, 'user-menu').click();
  await byTestId(page, 'logout').click();
  await page.waitForURL(/\/admin\/login/, { timeout: TIMEOUT });
  check((await page.evaluate(() => sessionStorage.getItem('b24wa.admin.session'))) === null, 'signing out forgets the tokens');
}

async function supportScenario(page) {
  const x = cfg.expect;
  await login(page, cfg.email, cfg.password);
  // Support lands on the tenants with the health summary: one failed job.
  await title(page, 'Tenants');
  await page.locator('[data-testid="tenant-name"]', { hasText: x.tenant_name }).waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'health-dead').locator('[data-testid="stat-value"]', { hasText: /^1$/ }).waitFor({ timeout: TIMEOUT });
  // Per tenant: the failed job makes its health a problem.
  await page.locator('[data-testid="row"]', { hasText: x.tenant_name }).locator('[data-testid="tenant-health"][data-status="error"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'tenants');

  // The failed jobs list.
  await nav(page, 'jobs');
  await title(page, 'Failed jobs');
  await waitCount(page.locator('[data-testid="job"][data-status="dead"]'), 1, 'failed jobs');
  await shot(page, 'failed-jobs');

  // Find the message by its WhatsApp id and open its trace.
  await nav(page, 'messages');
  await title(page, 'Message search');
  await byTestId(page, 'message-query').fill(x.wamid);
  await byTestId(page, 'message-search').click();
  await page.waitForURL(/[?&]q=wamid/, { timeout: TIMEOUT });
  const hit = page.locator('[data-testid="row"]', { hasText: x.text });
  await byTestId(page, 'range').filter({ hasText: '1–1 of 1' }).waitFor({ timeout: TIMEOUT });
  await waitCount(page.locator('[data-testid="row"]'), 1, 'messages found by the wamid');
  await shot(page, 'search');
  await hit.click();
  await title(page, `Message #${x.message_id}`);
  const hops = () => page.locator('[data-testid="hop"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-hop')));
  await page.locator('[data-testid="hop"][data-hop="failed"]').waitFor({ timeout: TIMEOUT });
  const before = await hops();
  check(before[0] === 'customer_sent' && before.at(-1) === 'failed', `hops before the re-drive: ${before}`);
  await shot(page, 'trace-failed');

  // Re-drive: the job runs again (Bitrix24 is back) and the hops say so.
  await byTestId(page, 'redrive').click();
  await page.getByText('Re-driven', { exact: true }).waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="job"][data-status="done"]').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="hop"][data-hop="to_bitrix24"]').waitFor({ timeout: TIMEOUT });
  const after = await hops();
  check(after.slice(-3).join(',') === 'failed,redriven,to_bitrix24', `hops after the re-drive: ${after}`);
  await byTestId(page, 'trace-status').filter({ hasText: 'forwarded' }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'trace-redriven');
  await page.setViewportSize(PHONE);
  await page.locator('[data-testid="job"][data-status="done"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'trace-phone');
  await page.setViewportSize(LAPTOP);

  // Nothing left to re-drive; the audit log has the re-drive.
  await nav(page, 'jobs');
  await byTestId(page, 'empty').waitFor({ timeout: TIMEOUT });
  await nav(page, 'audit');
  await title(page, 'Audit log');
  const rec = page.locator('[data-testid="audit-row"][data-action="job.redrive"]');
  await rec.waitFor({ timeout: TIMEOUT });
  check((await rec.innerText()).includes(cfg.email), 'the audit record names the support user');
  await rec.click();
  await shot(page, 'audit');
}

async function billingScenario(page) {
  const x = cfg.expect;
  await login(page, cfg.email, cfg.password);
  // Billing lands on usage: every tenant's totals; no operational pages.
  await title(page, 'Usage');
  const navs = await page.locator('[data-testid^="nav-"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')));
  check(navs.join(',') === 'nav-tenants,nav-usage', `billing's navigation: ${navs}`);
  const row = page.locator('[data-testid="usage-all"] [data-testid="row"]', { hasText: x.tenant_name });
  await row.waitFor({ timeout: TIMEOUT });
  await shot(page, 'usage-all');
  await row.click();
  const stat = (id) => byTestId(page, id).locator('[data-testid="stat-value"]');
  await stat('total-inbound').filter({ hasText: new RegExp(`^${x.inbound}$`) }).waitFor({ timeout: TIMEOUT });
  await stat('total-outbound').filter({ hasText: new RegExp(`^${x.outbound}$`) }).waitFor({ timeout: TIMEOUT });
  await page.locator('.recharts-surface').first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'usage-tenant');

  // The CSV: a row per day of the period and the totals, which match the messages sent.
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: TIMEOUT }), byTestId(page, 'export-csv').click()]);
  const file = path.join(shots, `${cfg.scenario}-usage.csv`);
  await download.saveAs(file);
  const csv = fs.readFileSync(file, 'utf8');
  log(`CSV ${download.suggestedFilename()} (${csv.length} bytes) saved as ${path.relative(process.cwd(), file)}`);
  check(/^usage-.+\.csv$/.test(download.suggestedFilename()), `file name ${download.suggestedFilename()}`);
  const lines = csv.trimEnd().split('\r\n').map((l) => l.split(','));
  check(lines[0].join(',') === 'date,inbound,outbound,media,transcribed,transcribed_seconds', `CSV header: ${lines[0]}`);
  const days = lines.slice(1, -1);
  const total = lines.at(-1);
  check(total[0] === 'total', `last row is the totals: ${total}`);
  check(Number(total[1]) === x.inbound && Number(total[2]) === x.outbound, `CSV totals ${total} vs sent in=${x.inbound} out=${x.outbound}`);
  check(days.reduce((s, r) => s + Number(r[1]), 0) === x.inbound, 'daily inbound rows add up to the messages sent');
  check(days.reduce((s, r) => s + Number(r[2]), 0) === x.outbound, 'daily outbound rows add up to the messages sent');
  check(days.some((r) => r[0] === x.today && Number(r[1]) === x.inbound), `today's row (${x.today}) has the messages`);
  check(days.length >= 28 && days.length <= 31, `a month of days: ${days.length}`);

  await page.setViewportSize(PHONE);
  await page.reload();
  await stat('total-inbound').first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'usage-phone');
}

/** A tenant admin opens a Cloud API number's templates from the numbers list: status badges,
 * the refusal's reason, a preview with each variable marked and its example on hover. Then a
 * number with no account yet: the page asks for it, refuses letters, and syncs with the right one. */
async function templatesScenario(page) {
  const x = cfg.expect;
  await login(page, cfg.email, cfg.password);
  await title(page, 'Numbers');
  const row = page.locator('[data-testid="row"]', { hasText: `+${x.synced_phone}` });
  await row.waitFor({ timeout: TIMEOUT });
  await row.locator('[data-testid="templates"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'numbers');
  await row.locator('[data-testid="templates"]').click();
  await page.waitForURL(/\/admin\/numbers\/\d+\/templates$/, { timeout: TIMEOUT });
  await title(page, 'Templates');
  await waitCount(byTestId(page, 'template'), 4, 'templates listed');
  check((await byTestId(page, 'waba-id').innerText()) === x.waba_id, 'the account id is shown');
  check((await byTestId(page, 'last-synced').innerText()) !== 'not yet', 'the last sync time is shown');

  const order = page.locator('[data-testid="template"][data-name="order_update"]');
  await order.locator('[data-testid="template-status"][data-status="APPROVED"]', { hasText: 'Approved' }).waitFor({ timeout: TIMEOUT });
  const body = order.locator('[data-testid="template-body"]');
  check((await body.innerText()).includes('is on its way'), 'the body text is shown');
  const first = body.locator('[data-testid="template-var"][data-name="1"]');
  check((await first.innerText()) === '{{1}}', `the variable is marked: ${await first.innerText()}`);
  check((await first.getAttribute('data-example')) === 'Maria', 'the first variable has its example');
  await waitCount(body.locator('[data-testid="template-var"]'), 3, "order_update's body variables");
  await order.locator('[data-testid="template-header"] [data-testid="template-var"][data-example="A-1042"]').waitFor({ timeout: TIMEOUT });
  await order.locator('[data-testid="template-footer"]', { hasText: 'Reply STOP' }).waitFor({ timeout: TIMEOUT });
  await waitCount(order.locator('[data-testid="template-button"]'), 2, "order_update's buttons");

  const named = page.locator('[data-testid="template"][data-name="appointment_reminder"]');
  await named.locator('[data-testid="template-status"][data-status="PENDING"]').waitFor({ timeout: TIMEOUT });
  await named.locator('[data-testid="template-var"][data-name="first_name"][data-example="Jonas"]').waitFor({ timeout: TIMEOUT });

  const refused = page.locator('[data-testid="template"][data-name="spring_sale"]');
  await refused.locator('[data-testid="template-status"][data-status="REJECTED"]').waitFor({ timeout: TIMEOUT });
  await refused.locator('[data-testid="template-reason"]', { hasText: 'Invalid format' }).waitFor({ timeout: TIMEOUT });
  const colour = async (l) => l.evaluate((e) => getComputedStyle(e).color);
  const approvedColour = await colour(order.locator('[data-testid="template-status"]'));
  const rejectedColour = await colour(refused.locator('[data-testid="template-status"]'));
  check(approvedColour !== rejectedColour, `approved and rejected badges differ in colour: ${approvedColour} vs ${rejectedColour}`);

  await shot(page, 'templates');
  await page.screenshot({ path: path.join(shots, 'templates.png'), fullPage: true });
  log(`screenshot ${path.relative(process.cwd(), path.join(shots, 'templates.png'))}`);
  // The example on hover.
  await first.hover();
  await page.getByText('Example: Maria', { exact: true }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'example-on-hover');
  await page.mouse.move(0, 0);

  // The template for CRM messages: only one that can carry a text offers it.
  check((await order.locator('[data-testid="template-set-default"]').count()) === 0, 'a three-variable template is not offered for CRM messages');
  const note = page.locator('[data-testid="template"][data-name="crm_note"]');
  await note.locator('[data-testid="template-set-default"]').click();
  await note.locator('[data-testid="template-default"]').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'default-template').filter({ hasText: '"crm_note" (en_US)' }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'templates-crm-default');

  // The filter.
  await byTestId(page, 'templates-filter').fill('spring');
  await waitCount(byTestId(page, 'template'), 1, 'templates matching "spring"');
  await byTestId(page, 'templates-filter').fill('');

  // A number whose account is not named: the page asks for it.
  await nav(page, 'numbers');
  const other = page.locator('[data-testid="row"]', { hasText: `+${x.unnamed_phone}` });
  await other.waitFor({ timeout: TIMEOUT });
  await other.locator('[data-testid="templates"]').click();
  await title(page, 'Templates');
  await byTestId(page, 'empty').filter({ hasText: 'No templates yet' }).waitFor({ timeout: TIMEOUT });
  const input = page.locator('input[name="waba_id"]');
  await input.waitFor({ timeout: TIMEOUT });
  await page.getByText('Account tools shows the WhatsApp Business Account ID').waitFor({ timeout: TIMEOUT });
  await input.fill('12ab');
  await byTestId(page, 'sync-templates').click();
  await page.getByText('Digits only', { exact: false }).first().waitFor({ timeout: TIMEOUT });
  await shot(page, 'templates-no-account');
  // An account Meta does not know for this number: Meta's refusal, plainly.
  await input.fill('999');
  await byTestId(page, 'sync-templates').click();
  await page.locator('[data-testid="sync-outcome"][data-ok="false"]', { hasText: 'WhatsApp refused' }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'templates-refused');
  await input.fill(x.waba_id);
  await byTestId(page, 'sync-templates').click();
  await page.locator('[data-testid="sync-outcome"][data-ok="true"]', { hasText: 'Synced: 4 templates' }).waitFor({ timeout: TIMEOUT });
  await waitCount(byTestId(page, 'template'), 4, 'templates after the sync');
  await byTestId(page, 'waba-id').filter({ hasText: x.waba_id }).waitFor({ timeout: TIMEOUT });
  await shot(page, 'templates-synced');

  await page.setViewportSize(PHONE);
  await page.reload();
  await waitCount(byTestId(page, 'template'), 4, 'templates on a phone');
  await shot(page, 'templates-phone');
  await page.setViewportSize(LAPTOP);
}

/** The sandbox (`b24wa sandbox`, no login): the customer writes, the operator answers and the
 * ticks go to read on both sides, a voice note gets its transcript (when the speech model is
 * there), the operator deletes the answer and it goes from the phone; on a laptop and a phone.
 * Then the Cloud API number's window and templates (sandboxCloud). */
async function sandboxScenario(page) {
  const phoneMsg = (from, text) => page.locator(`[data-testid="phone-message"][data-from="${from}"]`, { hasText: text });
  const consoleMsg = (from, text) => page.locator(`[data-testid="console-message"][data-from="${from}"]`, { hasText: text });
  await page.goto(`${cfg.url}/admin/sandbox`);
  await byTestId(page, 'phone').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'console').waitFor({ timeout: TIMEOUT });
  check(await byTestId(page, 'console-input').isDisabled(), 'the operator cannot write before the customer');
  await shot(page, 'empty');

  await byTestId(page, 'phone-input').fill('Hi! Is my order 1042 ready?');
  await byTestId(page, 'phone-send').click();
  await consoleMsg('customer', 'Is my order 1042 ready?').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'console-input').fill('Yes, it ships today. Tracking follows by SMS.');
  await byTestId(page, 'console-send').click();
  await phoneMsg('business', 'it ships today').waitFor({ timeout: TIMEOUT });
  // The ticks: blue in Open Lines once the phone read it, and the customer's own message read
  // on the phone once the operator answered.
  const reply = page.locator('[data-testid="console-message"][data-from="operator"][data-state="read"]', { hasText: 'it ships today' });
  await reply.waitFor({ timeout: TIMEOUT });
  check((await reply.locator('[data-testid="ticks"]').getAttribute('data-color')) === 'blue', 'a read reply has blue ticks');
  const mine = page.locator('[data-testid="phone-message"][data-from="customer"][data-ticks="read"]', { hasText: 'order 1042' });
  await mine.waitFor({ timeout: TIMEOUT });
  check((await mine.locator('[data-testid="ticks"]').getAttribute('data-color')) === 'blue', "the customer's read message has blue ticks");
  check((await byTestId(page, 'trace-entry').count()) >= 6, 'the trace lists the hops');
  await page.locator('[data-testid="trace-entry"]', { hasText: 'OnImConnectorMessageAdd' }).first().waitFor({ timeout: TIMEOUT });

  await byTestId(page, 'phone-voice').click();
  await page.locator('[data-testid="phone-message"][data-from="customer"]').locator('audio').first().waitFor({ timeout: TIMEOUT });
  const note = page.locator('[data-testid="console-message"][data-from="customer"]').filter({ has: page.locator('audio') });
  await note.waitFor({ timeout: TIMEOUT });
  if (cfg.transcription) {
    await note.locator('[data-testid="transcript"]', { hasText: /baker street/i }).waitFor({ timeout: 60_000 });
  } else {
    await note.getByText('No transcript').waitFor({ timeout: TIMEOUT });
  }
  await shot(page, 'conversation');

  // The operator edits the answer: the phone shows the new text, marked edited.
  await page.locator('[data-testid="console-message"][data-from="operator"]', { hasText: 'it ships today' }).locator('[data-testid="console-actions"]').click();
  await byTestId(page, 'console-edit').click();
  await byTestId(page, 'edit-text').fill('Yes, it ships today. Tracking follows by email.');
  await byTestId(page, 'edit-save').click();
  const edited = phoneMsg('business', 'Tracking follows by email');
  await edited.waitFor({ timeout: TIMEOUT });
  await edited.getByText('edited').waitFor({ timeout: TIMEOUT });
  await consoleMsg('operator', 'Tracking follows by email').waitFor({ timeout: TIMEOUT });

  await page.locator('[data-testid="console-message"][data-from="operator"]', { hasText: 'it ships today' }).locator('[data-testid="console-actions"]').click();
  await byTestId(page, 'console-delete').click();
  await page.locator('[data-testid="phone-message"][data-from="business"][data-deleted="true"]').waitFor({ timeout: TIMEOUT });
  check((await phoneMsg('business', 'it ships today').count()) === 0, 'the deleted text is gone from the phone');
  await page.getByText('This message was deleted').waitFor({ timeout: TIMEOUT });
  await shot(page, 'deleted');
  await page.screenshot({ path: path.join(shots, 'sandbox.png'), fullPage: true });
  log(`screenshot ${path.relative(process.cwd(), path.join(shots, 'sandbox.png'))}`);

  await page.setViewportSize(PHONE);
  await page.reload();
  await phoneMsg('customer', 'order 1042').waitFor({ timeout: TIMEOUT });
  await shot(page, 'phone');
  await page.setViewportSize(LAPTOP);
  await sandboxCloud(page, phoneMsg, consoleMsg);
}

/** The sandbox's Cloud API number: the customer's last message made 25 hours old closes the
 * window, the operator's free text is held back with a notice, a template goes and reaches the
 * phone, and a tap on its quick-reply button opens the window again. */
async function sandboxCloud(page, phoneMsg, consoleMsg) {
  await byTestId(page, 'number-switch').getByText('Cloud API').click();
  await byTestId(page, 'window-card').waitFor({ timeout: TIMEOUT });
  check(page.url().includes('number=cloud'), 'the address keeps the number');
  check((await phoneMsg('customer', 'order 1042').count()) === 0, "the gateway number's chat is not shown");
  await waitCount(byTestId(page, 'sandbox-template'), 3, 'templates of the account');
  check(await byTestId(page, 'age-window').isDisabled(), 'nothing to age before the customer writes');

  await byTestId(page, 'phone-input').fill('Hi, where is my order A-42?');
  await byTestId(page, 'phone-send').click();
  await consoleMsg('customer', 'where is my order A-42').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="window-state"][data-state="open"]').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'window-label').getByText(/Open until .* tomorrow/).waitFor({ timeout: TIMEOUT });

  await byTestId(page, 'age-window').click();
  await page.locator('[data-testid="window-state"][data-state="closed"]').waitFor({ timeout: TIMEOUT });
  await byTestId(page, 'window-label').getByText(/Closed since/).waitFor({ timeout: TIMEOUT });
  // 25 hours back is yesterday, or the day before in the first hour of a day ("23:10 on 6 Dec").
  await phoneMsg('customer', 'where is my order A-42').getByText(/yesterday|\d on \d/).waitFor({ timeout: TIMEOUT });

  await byTestId(page, 'console-input').fill('Let me check where it is.');
  await byTestId(page, 'console-send').click();
  await consoleMsg('system', '24-hour window').waitFor({ timeout: TIMEOUT });
  const held = page.locator('[data-testid="console-message"][data-from="operator"][data-state="failed"]', { hasText: 'Let me check' });
  await held.waitFor({ timeout: TIMEOUT });
  await held.getByText('Not sent').waitFor({ timeout: TIMEOUT });
  check((await page.locator('[data-testid="phone-message"][data-from="business"]').count()) === 0, 'free text did not reach the phone');

  await page.locator('[data-testid="use-template"][data-name="order_update"]').click();
  check((await byTestId(page, 'console-input').inputValue()) === '/template order_update Maria | A-42', 'the template command is typed in');
  await byTestId(page, 'console-send').click();
  const template = page.locator('[data-testid="phone-message"][data-from="business"][data-kind="template"]', { hasText: 'Hello Maria, your order A-42 is on its way.' });
  await template.waitFor({ timeout: TIMEOUT });
  await consoleMsg('system', 'Template "order_update"').waitFor({ timeout: TIMEOUT });
  const sent = page.locator('[data-testid="console-message"][data-from="operator"][data-state="read"]', { hasText: '/template order_update' });
  await sent.waitFor({ timeout: TIMEOUT });
  check((await sent.locator('[data-testid="ticks"]').getAttribute('data-color')) === 'blue', 'the template was read: blue ticks');

  await template.locator('[data-testid="quick-reply"]', { hasText: 'Thanks!' }).click();
  await page.locator('[data-testid="phone-message"][data-from="customer"][data-kind="button"]', { hasText: 'Thanks!' }).waitFor({ timeout: TIMEOUT });
  await consoleMsg('customer', 'Tapped the button').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="window-state"][data-state="open"]').waitFor({ timeout: TIMEOUT });
  await shot(page, 'cloud');
  await page.screenshot({ path: path.join(shots, 'sandbox-cloud.png'), fullPage: true });
  log(`screenshot ${path.relative(process.cwd(), path.join(shots, 'sandbox-cloud.png'))}`);

  // Back to the gateway number: its chat is still there.
  await byTestId(page, 'number-switch').getByText('Web gateway').click();
  await phoneMsg('customer', 'order 1042').waitFor({ timeout: TIMEOUT });
}

const SCENARIOS = { tenant: tenantScenario, support: supportScenario, billing: billingScenario, templates: templatesScenario, sandbox: sandboxScenario, ...I18N_SCENARIOS };

await runMain(SCENARIOS);
