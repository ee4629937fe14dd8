// A tenant's data retention: what a value in days means and whether its plan allows it (the API
// checks the same, README "Data retention and uninstall").

import i18n from '../i18n';

/** Why a retention cannot be saved; null: it can. */
export type RetentionProblem = 'notWhole' | 'overPlan' | 'foreverNotAllowed' | null;

/** The longest anyone may set (the API's bound). */
export const MAX_RETENTION_DAYS = 36_500;

/** `days` (null: the service's default; 0: for ever) under a plan maximum `max` (null: none). */
export function retentionProblem(days: number | null, max: number | null): RetentionProblem {
  if (days === null) return null;
  if (!Number.isInteger(days) || days < 0) return 'notWhole';
  if (max !== null && days === 0) return 'foreverNotAllowed';
  if (days > (max ?? MAX_RETENTION_DAYS)) return 'overPlan';
  return null;
}

/** Days as the user reads them: "for ever" for 0. */
export function daysLabel(days: number): string {
  return days === 0 ? i18n.t('retention.forever') : i18n.t('retention.days', { count: days });
}

/** A field's text as days: '' is the default (null). */
export function parseDays(text: string): number | null {
  const s = text.trim();
  return s === '' ? null : Number(s);
}
