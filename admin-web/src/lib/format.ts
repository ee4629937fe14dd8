// Times, phones and durations as people read them.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatDateTime(ms: number | null | undefined): string {
  return ms ? dateTime.format(new Date(ms)) : '—';
}

export function formatTime(ms: number | null | undefined): string {
  return ms ? timeOnly.format(new Date(ms)) : '—';
}

export function formatRelative(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} h ago`;
  const d = Math.round(h / 24);
  return d === 1 ? 'yesterday' : `${d} days ago`;
}

/** `+` and the digits of a WhatsApp id or display phone. */
export function formatPhone(digits: string | null | undefined): string {
  if (!digits) return '—';
  return /^\d+$/.test(digits) ? `+${digits}` : digits;
}

/** The gap between two hops: `+120 ms`, `+3.4 s`, `+2 min`. */
export function formatGap(ms: number): string {
  if (ms < 1000) return `+${ms} ms`;
  if (ms < 60_000) return `+${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `+${Math.round(ms / 60_000)} min`;
  return `+${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatMinutes(seconds: number): string {
  return seconds < 60 ? `${Math.round(seconds)} s` : `${(seconds / 60).toFixed(1)} min`;
}

/** Today's date (UTC, as the usage report counts days) as YYYY-MM-DD. */
export function isoDay(d = new Date()): string {
  return d.toISOString().slice(0, 10);
}

export function firstOfMonth(d = new Date()): string {
  return `${d.toISOString().slice(0, 7)}-01`;
}
