import { describe, expect, it } from 'vitest';
import type { Usage } from '../api/types';
import { csvField, usageCsv, usageFileName } from '../lib/csv';

const usage: Usage = {
  tenant_id: 7,
  tenant_name: 'Acme, "Ltd"',
  plan: 'pro',
  from: '2026-11-01',
  to: '2026-11-03',
  totals: { inbound: 5, outbound: 2, media: 1, transcribed: 1, transcribed_seconds: 12.300000000000001 },
  active_numbers: 1,
  connected_numbers: 2,
  plan_use: { month: '2026-11', known_plan: true, quotas: [], over_quota: [] },
  days: [
    { date: '2026-11-01', inbound: 3, outbound: 1, media: 1, transcribed: 1, transcribed_seconds: 12.300000000000001 },
    { date: '2026-11-02', inbound: 0, outbound: 0, media: 0, transcribed: 0, transcribed_seconds: 0 },
    { date: '2026-11-03', inbound: 2, outbound: 1, media: 0, transcribed: 0, transcribed_seconds: 0 },
  ],
};

function parse(csv: string): string[][] {
  return csv
    .trimEnd()
    .split('\r\n')
    .map((l) => l.split(','));
}

describe('usage CSV', () => {
  it('has a header, one row per day (zeros included) and the totals', () => {
    const rows = parse(usageCsv(usage));
    expect(rows[0]).toEqual(['date', 'inbound', 'outbound', 'media', 'transcribed', 'transcribed_seconds']);
    expect(rows.slice(1, -1).map((r) => r[0])).toEqual(['2026-11-01', '2026-11-02', '2026-11-03']);
    expect(rows[1]).toEqual(['2026-11-01', '3', '1', '1', '1', '12.3']);
    expect(rows.at(-1)).toEqual(['total', '5', '2', '1', '1', '12.3']);
  });

  it('its daily rows add up to the totals', () => {
    const rows = parse(usageCsv(usage));
    const days = rows.slice(1, -1);
    const total = rows.at(-1)!;
    for (let col = 1; col <= 4; col++) {
      expect(days.reduce((s, r) => s + Number(r[col]), 0)).toBe(Number(total[col]));
    }
  });

  it('ends every line with CRLF (RFC 4180)', () => {
    const text = usageCsv(usage);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.split('\r\n')).toHaveLength(usage.days.length + 3);
  });

  it('quotes fields with separators or quotes and defuses formulas', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('=SUM(A1)')).toBe("'=SUM(A1)");
    expect(csvField(-3)).toBe('-3');
    expect(csvField(0.1 + 0.2)).toBe('0.3');
  });

  it('names the file after the tenant and the period', () => {
    expect(usageFileName(usage)).toBe('usage-acme-ltd-2026-11-01-to-2026-11-03.csv');
  });
});
