import { describe, expect, it } from 'vitest';
import { canCarryText, exampleValues, lastSynced, splitTemplateText, templateStatusColor, templateVariables } from '../lib/templates';

describe('template text', () => {
  it('splits positional variables out of the text', () => {
    expect(splitTemplateText('Hello {{1}}, your order {{2}} is on its way.')).toEqual([
      { kind: 'text', text: 'Hello ' },
      { kind: 'var', name: '1' },
      { kind: 'text', text: ', your order ' },
      { kind: 'var', name: '2' },
      { kind: 'text', text: ' is on its way.' },
    ]);
  });

  it('splits named variables, at either end and side by side', () => {
    expect(splitTemplateText('{{first_name}}{{ last_name }}!')).toEqual([
      { kind: 'var', name: 'first_name' },
      { kind: 'var', name: 'last_name' },
      { kind: 'text', text: '!' },
    ]);
    expect(splitTemplateText('Code: {{code}}')).toEqual([
      { kind: 'text', text: 'Code: ' },
      { kind: 'var', name: 'code' },
    ]);
  });

  it('keeps text without variables, and malformed braces, as text', () => {
    expect(splitTemplateText('')).toEqual([]);
    expect(splitTemplateText('No variables here.')).toEqual([{ kind: 'text', text: 'No variables here.' }]);
    expect(splitTemplateText('{{ and {x} and {{a-b}} and }}')).toEqual([{ kind: 'text', text: '{{ and {x} and {{a-b}} and }}' }]);
    expect(splitTemplateText('line one\n{{1}}\nline two')).toEqual([
      { kind: 'text', text: 'line one\n' },
      { kind: 'var', name: '1' },
      { kind: 'text', text: '\nline two' },
    ]);
  });

  it('lists each variable once', () => {
    expect(templateVariables('Hi {{1}}, {{2}} and {{1}} again')).toEqual(['1', '2']);
  });
});

describe('template examples', () => {
  it('maps positional examples to {{1}}, {{2}}', () => {
    expect(exampleValues({ type: 'BODY', text: 'Hello {{1}}, order {{2}}', example: { body_text: [['Maria', 'A-42']] } })).toEqual({ 1: 'Maria', 2: 'A-42' });
    expect(exampleValues({ type: 'HEADER', format: 'TEXT', text: 'Order {{1}}', example: { header_text: ['A-42'] } })).toEqual({ 1: 'A-42' });
  });

  it('maps named examples by name', () => {
    expect(
      exampleValues({
        type: 'BODY',
        text: 'Hi {{first_name}}',
        example: { body_text_named_params: [{ param_name: 'first_name', example: 'Pablo' }] },
      }),
    ).toEqual({ first_name: 'Pablo' });
  });

  it('has none when Meta gave none', () => {
    expect(exampleValues({ type: 'BODY', text: 'Hi {{1}}' })).toEqual({});
    expect(exampleValues({ type: 'BODY', text: 'Hi {{1}}', example: { body_text: [] } })).toEqual({});
  });
});

describe('template status', () => {
  it('colours the review states', () => {
    expect(['APPROVED', 'PENDING', 'REJECTED', 'DISABLED', 'PAUSED', 'LIMIT_EXCEEDED'].map(templateStatusColor)).toEqual([
      'green',
      'yellow',
      'red',
      'red',
      'orange',
      'gray',
    ]);
  });

  it('knows the last sync', () => {
    expect(lastSynced([])).toBeNull();
    expect(lastSynced([{ synced_at: 5 }, { synced_at: 9 }, { synced_at: 7 }])).toBe(9);
  });
});

describe('a default template for CRM messages', () => {
  const body = (text: string) => ({ type: 'BODY', text });
  it('takes an approved template with one body variable', () => {
    expect(canCarryText({ status: 'APPROVED', components: [body('Message from us: {{1}}')] })).toBe(true);
  });
  it('refuses two variables, a header variable, a media header, or a template not approved', () => {
    expect(canCarryText({ status: 'APPROVED', components: [body('{{1}} and {{2}}')] })).toBe(false);
    expect(canCarryText({ status: 'APPROVED', components: [{ type: 'HEADER', format: 'TEXT', text: 'Hi {{1}}' }, body('{{1}}')] })).toBe(false);
    expect(canCarryText({ status: 'APPROVED', components: [{ type: 'HEADER', format: 'IMAGE' }, body('{{1}}')] })).toBe(false);
    expect(canCarryText({ status: 'PENDING', components: [body('{{1}}')] })).toBe(false);
  });
});
