import { describe, expect, it } from 'vitest';
import type { TenantHealth } from '../api/types';
import { healthProblems, overQuotaMessage, quotaAmount, quotaColor } from '../lib/quota';

const health: TenantHealth = {
  tenant_id: 1,
  tenant_name: 'Acme',
  plan: 'free',
  status: 'error',
  numbers: 2,
  numbers_not_authorized: 1,
  dead_jobs: 3,
  pending_jobs: 0,
  portals_token_errors: 0,
  portals_uninstalled: 1,
  last_message_at: null,
  over_quota: [],
};

describe('quotas', () => {
  it('reads amounts against the limit, or unlimited', () => {
    expect(quotaAmount({ used: 1200, limit: 1000 })).toBe('1,200 of 1,000');
    expect(quotaAmount({ used: 2.5, limit: null })).toBe('2.5 (unlimited)');
  });

  it('colours by how close the limit is', () => {
    expect(quotaColor({ percent: 10, over: false })).toBe('teal');
    expect(quotaColor({ percent: 85, over: false })).toBe('orange');
    expect(quotaColor({ percent: 120, over: true })).toBe('red');
    expect(quotaColor({ percent: null, over: false })).toBe('teal');
  });

  it('tells the tenant what went over and that nothing is dropped', () => {
    const quotas = [
      { quota: 'messages', used: 1001, limit: 1000, percent: 100.1, over: true },
      { quota: 'transcription_minutes', used: 31, limit: 30, percent: 103.3, over: true },
    ];
    expect(overQuotaMessage({ over_quota: [], quotas }, 'free')).toBeNull();
    const m = overQuotaMessage({ over_quota: ['messages', 'transcription_minutes'], quotas }, 'free') ?? '';
    expect(m).toContain("free plan's 1,000 messages and 30 transcription minutes");
    expect(m).toContain('nothing is dropped');
  });
});

describe('tenant health', () => {
  it('lists the problems, most urgent first', () => {
    expect(healthProblems(health)).toEqual(['1 number not authorized', '3 failed jobs', '1 portal uninstalled']);
    expect(healthProblems({ ...health, numbers_not_authorized: 0, dead_jobs: 0, portals_uninstalled: 0 })).toEqual([]);
  });
});
