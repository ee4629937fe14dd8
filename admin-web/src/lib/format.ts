// Times, numbers, phones and durations as people read them, in the app's language (Intl with the
// locale of ../i18n; the words that are not Intl's come from the catalogue).

import i18n, { intlLocale } from '../i18n';

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>();

/** One formatter per locale and options (building one is slow, formatting is not). */
function cached<F extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat>(kind: string, options: object, make: (locale: string) => F): F {
  const locale = intlLocale();
  const key = `${kind}|${locale}|${JSON.stringify(options)}`;
  let f = cache.get(key) as F | undefined;
  if (!f) {
    f = make(locale);
    cache.set(key, f);
  }
  return f;
}

const dateTimeFormat = (o: Intl.DateTimeFormatOptions) => cached('dt', o, (l) => new Intl.DateTimeFormat(l, o));
const numberFormat = (o: Intl.NumberFormatOptions) => cached('n', o, (l) => new Intl.NumberFormat(l, o));

export function formatDateTime(ms: number | null | undefined): string {
  return ms ? dateTimeFormat({ dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(ms)) : '—';
}

export function formatTime(ms: number | null | undefined): string {
  return ms ? dateTimeFormat({ hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(ms)) : '—';
}

/**
 * A day of the usage report (`2026-05-03`, a UTC day) as `3 May 2026` / `3 мая 2026 г.`, or
 * `short`: `3 May` / `3 мая`.
 */
export function formatDay(isoDate: string, style: 'medium' | 'short' = 'medium'): string {
  const d = new Date(`${isoDate}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return isoDate;
  const o: Intl.DateTimeFormatOptions = style === 'short' ? { day: 'numeric', month: 'short', timeZone: 'UTC' } : { dateStyle: 'medium', timeZone: 'UTC' };
  return dateTimeFormat(o).format(d);
}

/** A moment, short: `8 Dec, 14:05` / `8 дек., 14:05`. */
export function formatWhen(ms: number | null | undefined): string {
  return ms ? dateTimeFormat({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' }).format(new Date(ms)) : '—';
}

/** A moment's day in local time, short: `30 Apr` / `30 апр.`. */
export function formatShortDate(ms: number): string {
  return dateTimeFormat({ day: 'numeric', month: 'short' }).format(new Date(ms));
}

/** A month of the usage report (`2026-05`) as `May 2026` / `май 2026 г.`. */
export function formatMonth(isoMonth: string): string {
  const d = new Date(`${isoMonth}-01T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return isoMonth;
  return dateTimeFormat({ month: 'long', year: 'numeric', timeZone: 'UTC' }).format(d);
}

/** `5 minutes ago`, `yesterday`, `3 days ago` (Intl's words in the app's language). */
export function formatRelative(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return i18n.t('time.never');
  const s = Math.round((now - ms) / 1000);
  if (s < 45) return i18n.t('time.justNow');
  const rtf = cached('rt', {}, (l) => new Intl.RelativeTimeFormat(l, { numeric: 'auto' }));
  const m = Math.round(s / 60);
  if (m < 60) return rtf.format(-m, 'minute');
  const h = Math.round(m / 60);
  if (h < 24) return rtf.format(-h, 'hour');
  return rtf.format(-Math.round(h / 24), 'day');
}

/** A count or an amount: `1,234.5` / `1 234,5`. */
export function formatNumber(n: number, maximumFractionDigits = 1): string {
  return numberFormat({ maximumFractionDigits }).format(n);
}

/** `+` and the digits of a WhatsApp id or display phone. */
export function formatPhone(digits: string | null | undefined): string {
  if (!digits) return '—';
  // A customer WhatsApp names only by LID (an Evolution number, no phone in the payload).
  const lid = /^(\d+)@lid$/.exec(digits);
  if (lid) return i18n.t('chats.lidOnly', { lid: lid[1] });
  return /^\d+$/.test(digits) ? `+${digits}` : digits;
}

function unit(value: number, u: 'millisecond' | 'second' | 'minute' | 'hour', sign: boolean): string {
  return numberFormat({ style: 'unit', unit: u, unitDisplay: 'short', maximumFractionDigits: 1, signDisplay: sign ? 'always' : 'auto' }).format(value);
}

/** The gap between two hops: `+120 ms`, `+3.4 sec`, `+2 min` (`+120 мс`, `+3,4 с`, `+2 мин`). */
export function formatGap(ms: number): string {
  if (ms < 1000) return unit(ms, 'millisecond', true);
  if (ms < 60_000) return unit(Math.round(ms / 100) / 10, 'second', true);
  if (ms < 3_600_000) return unit(Math.round(ms / 60_000), 'minute', true);
  return unit(Math.round(ms / 360_000) / 10, 'hour', true);
}

/** Audio length: `45 sec`, `2.5 min`. */
export function formatMinutes(seconds: number): string {
  return seconds < 60 ? unit(Math.round(seconds), 'second', false) : unit(Math.round(seconds / 6) / 10, 'minute', false);
}

/** Today's date (UTC, as the usage report counts days) as YYYY-MM-DD. */
export function isoDay(d = new Date()): string {
  return d.toISOString().slice(0, 10);
}

export function firstOfMonth(d = new Date()): string {
  return `${d.toISOString().slice(0, 7)}-01`;
}
