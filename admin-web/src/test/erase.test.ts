import { describe, expect, it } from 'vitest';
import { confirmsCustomer, exportFileName } from '../lib/erase';

describe('confirmsCustomer', () => {
  it('accepts the phone however it is typed', () => {
    expect(confirmsCustomer('+7 (900) 111-22-33', '79001112233')).toBe(true);
    expect(confirmsCustomer('79001112233', '79001112233')).toBe(true);
  });
  it('refuses another phone, a part of it, or nothing', () => {
    expect(confirmsCustomer('79001112234', '79001112233')).toBe(false);
    expect(confirmsCustomer('7900111223', '79001112233')).toBe(false);
    expect(confirmsCustomer('', '79001112233')).toBe(false);
    expect(confirmsCustomer('79001112233x', '79001112233')).toBe(false);
  });
  it('takes a LID with or without @lid', () => {
    expect(confirmsCustomer('123456789@lid', '123456789@lid')).toBe(true);
    expect(confirmsCustomer('123456789', '123456789@lid')).toBe(true);
    expect(confirmsCustomer('12345678', '123456789@lid')).toBe(false);
  });
});

describe('exportFileName', () => {
  it('is safe to save', () => {
    expect(exportFileName('79001112233', 'csv')).toBe('conversation-79001112233.csv');
    expect(exportFileName('123@lid', 'json')).toBe('conversation-123-lid.json');
  });
});
