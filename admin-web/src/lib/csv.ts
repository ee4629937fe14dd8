// The usage report as CSV (RFC 4180): one row per day, then the period's totals.

import type { Figures, Usage } from '../api/types';

export const USAGE_COLUMNS = ['date', 'inbound', 'outbound', 'media', 'transcribed', 'transcribed_seconds'] as const;

/** One field, quoted when it holds a separator, a quote or a line break. */
export function csvField(v: string | number): string {
  const s = typeof v === 'number' ? formatNumber(v) : v;
  // A leading = + - @ makes spreadsheets run the cell as a formula.
  const safe = /^[=+\-@]/.test(s) && typeof v !== 'number' ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** Seconds as a plain decimal: at most one digit after the point, no float noise. */
function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Math.round(n * 10) / 10);
}

function row(date: string, f: Figures): string {
  return [date, f.inbound, f.outbound, f.media, f.transcribed, f.transcribed_seconds].map(csvField).join(',');
}

export function usageCsv(u: Usage): string {
  const lines = [USAGE_COLUMNS.join(','), ...u.days.map((d) => row(d.date, d)), row('total', u.totals)];
  return `${lines.join('\r\n')}\r\n`;
}

export function usageFileName(u: Usage): string {
  const slug = u.tenant_name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || `tenant-${u.tenant_id}`;
  return `usage-${slug}-${u.from}-to-${u.to}.csv`;
}

/** Hands `text` to the browser as a file download. */
export function downloadText(fileName: string, text: string, type = 'text/csv;charset=utf-8'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoked later: some browsers read the blob after click() returns.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
