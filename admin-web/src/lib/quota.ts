// Plans and quotas in words and colours (the Usage page, the over-quota banner, the tenants' health).

import type { PlanUse, QuotaUse, TenantHealth } from '../api/types';
import i18n from '../i18n';
import { formatNumber } from './format';

export function quotaName(quota: string): string {
  switch (quota) {
    case 'numbers':
      return i18n.t('quota.name.numbers');
    case 'messages':
      return i18n.t('quota.name.messages');
    case 'transcription_minutes':
      return i18n.t('quota.name.transcription_minutes');
    default:
      return quota;
  }
}

/** `12 of 1,000`, or `12 (unlimited)` (`12 из 1 000`, `12 (без ограничений)`). */
export function quotaAmount(q: Pick<QuotaUse, 'used' | 'limit'>): string {
  const used = formatNumber(q.used);
  return q.limit === null ? i18n.t('quota.amountUnlimited', { used }) : i18n.t('quota.amount', { used, limit: formatNumber(q.limit) });
}

/** Green below 80 %, orange up to the limit, red over it. */
export function quotaColor(q: Pick<QuotaUse, 'percent' | 'over'>): string {
  if (q.over) return 'red';
  if (q.percent !== null && q.percent >= 80) return 'orange';
  return 'teal';
}

/** What the tenant is told when it went over a monthly quota this month; null when it did not. */
export function overQuotaMessage(u: Pick<PlanUse, 'over_quota' | 'quotas'>, plan: string): string | null {
  if (u.over_quota.length === 0) return null;
  const parts = u.over_quota.map((name) => {
    const limit = u.quotas.find((x) => x.quota === name)?.limit;
    const minutes = name === 'transcription_minutes';
    if (limit == null) return minutes ? i18n.t('quota.over.minutesNoLimit') : i18n.t('quota.over.messagesNoLimit');
    const n = { count: limit, limit: formatNumber(limit) };
    return minutes ? i18n.t('quota.over.minutes', n) : i18n.t('quota.over.messages', n);
  });
  const list = new Intl.ListFormat(i18n.language, { type: 'conjunction' }).format(parts);
  return i18n.t('quota.over.message', { plan, list });
}

export const HEALTH_COLOR: Record<TenantHealth['status'], string> = { ok: 'green', warning: 'yellow', error: 'red' };

/** The problems of a tenant, most urgent first, in a few words each. */
export function healthProblems(h: TenantHealth): string[] {
  const out: string[] = [];
  if (h.numbers_not_authorized > 0) out.push(i18n.t('health.notAuthorized', { count: h.numbers_not_authorized }));
  if (h.dead_jobs > 0) out.push(i18n.t('health.deadJobs', { count: h.dead_jobs }));
  if (h.portals_token_errors > 0) out.push(i18n.t('health.tokenErrors', { count: h.portals_token_errors }));
  if (h.pending_jobs > 0) out.push(i18n.t('health.pendingJobs', { count: h.pending_jobs }));
  if (h.portals_uninstalled > 0) out.push(i18n.t('health.uninstalled', { count: h.portals_uninstalled }));
  return out;
}
