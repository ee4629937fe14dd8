import { afterAll, describe, expect, it } from 'vitest';
import i18n from '../i18n';
import { formatPhone } from '../lib/format';

describe('formatPhone', () => {
  afterAll(() => i18n.changeLanguage('en'));

  it('shows digits as a phone, and a customer known only by LID as such', async () => {
    await i18n.changeLanguage('en');
    expect(formatPhone('5511988887777')).toBe('+5511988887777');
    expect(formatPhone('207700000002@lid')).toBe('LID 207700000002 (WhatsApp hides this customer’s phone)');
    await i18n.changeLanguage('ru');
    expect(formatPhone('207700000002@lid')).toBe('LID 207700000002 (WhatsApp скрывает телефон этого клиента)');
    expect(formatPhone('')).toBe('—');
  });
});
