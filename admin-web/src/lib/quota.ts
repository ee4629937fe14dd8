// Plans and quotas in words and colours (the Usage page, the over-quota banner, the tenants' health).

import type { PlanUse, QuotaUse, TenantHealth } from '../api/types';

const NAMES: Record<string, string> = {
  numbers: 'Connected numbers',
  messages: 'Messages this month',
  transcription_minutes: 'Transcription minutes this month',
};

export function quotaName(quota: string): string {
  return NAMES[quota] ?? quota;
}

/** `12 of 1,000`, or `12 (unlimited)`. */
export function quotaAmount(q: Pick<QuotaUse, 'used' | 'limit'>): string {
  const used = Number.isInteger(q.used) ? q.used.toLocaleString('en-US') : q.used.toFixed(1);
  return q.limit === null ? `${used} (unlimited)` : `${used} of ${q.limit.toLocaleString('en-US')}`;
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
    const q = u.quotas.find((x) => x.quota === name);
    const limit = q?.limit != null ? `${q.limit.toLocaleString('en-US')} ` : '';
    return name === 'transcription_minutes' ? `${limit}transcription minutes (voice notes now arrive without a transcript)` : `${limit}messages`;
  });
  return `This account went over the ${plan} plan's ${parts.join(' and ')} this month. Messages still flow: nothing is dropped. Ask for a bigger plan to lift the limit.`;
}

export const HEALTH_COLOR: Record<TenantHealth['status'], string> = { ok: 'green', warning: 'yellow', error: 'red' };

/** The problems of a tenant, most urgent first, in a few words each. */
export function healthProblems(h: TenantHealth): string[] {
  const out: string[] = [];
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  if (h.numbers_not_authorized > 0) out.push(n(h.numbers_not_authorized, 'number not authorized', 'numbers not authorized'));
  if (h.dead_jobs > 0) out.push(n(h.dead_jobs, 'failed job', 'failed jobs'));
  if (h.portals_token_errors > 0) out.push(n(h.portals_token_errors, 'portal token error', 'portal token errors'));
  if (h.pending_jobs > 0) out.push(n(h.pending_jobs, 'job queued', 'jobs queued'));
  if (h.portals_uninstalled > 0) out.push(n(h.portals_uninstalled, 'portal uninstalled', 'portals uninstalled'));
  return out;
}
