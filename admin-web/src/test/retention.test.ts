import { afterEach, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { daysLabel, parseDays, retentionProblem } from '../lib/retention';

describe('retention', () => {
  afterEach(async () => {
    await i18n.changeLanguage('en');
  });

  it('follows the plan: at most its maximum, and for ever only without one', () => {
    expect(retentionProblem(null, 90)).toBeNull();
    expect(retentionProblem(90, 90)).toBeNull();
    expect(retentionProblem(91, 90)).toBe('overPlan');
    expect(retentionProblem(0, 90)).toBe('foreverNotAllowed');
    expect(retentionProblem(0, null)).toBeNull();
    expect(retentionProblem(36_501, null)).toBe('overPlan');
    expect(retentionProblem(1.5, null)).toBe('notWhole');
    expect(retentionProblem(-1, null)).toBe('notWhole');
    expect(retentionProblem(Number.NaN, null)).toBe('notWhole');
  });

  it('reads an empty field as the default', () => {
    expect(parseDays('')).toBeNull();
    expect(parseDays(' 30 ')).toBe(30);
    expect(Number.isNaN(parseDays('abc'))).toBe(true);
  });

  it('says the days in English and Russian', async () => {
    expect(daysLabel(0)).toBe('for ever');
    expect(daysLabel(1)).toBe('1 day');
    expect(daysLabel(365)).toBe('365 days');
    await i18n.changeLanguage('ru');
    expect(daysLabel(0)).toBe('бессрочно');
    expect(daysLabel(1)).toBe('1 день');
    expect(daysLabel(3)).toBe('3 дня');
    expect(daysLabel(365)).toBe('365 дней');
  });
});
