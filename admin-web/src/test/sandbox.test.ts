import { describe, expect, it } from 'vitest';
import { consoleTicks, dayTime, freshEntries, phoneTicks, whatsappSpans, windowLabel, type ConsoleMessage, type PhoneMessage, type TraceEntry } from '../lib/sandbox';
import { tickInfo } from '../lib/ticks';

const phone = (p: Partial<PhoneMessage>): PhoneMessage => ({ id: 'A', from: 'customer', kind: 'text', text: 'hi', ticks: 'sent', deleted: false, edited: false, at_ms: 0, buttons: [], ...p });
const op = (p: Partial<ConsoleMessage>): ConsoleMessage => ({ id: '1', from: 'operator', text: 'hi', transcript: null, files: [], state: 'sending', deleted: false, edited: false, order: 1, ...p });

describe('sandbox ticks', () => {
  it("draw the phone's own messages the way WhatsApp does", () => {
    expect(tickInfo(phoneTicks(phone({ ticks: 'sent' })))).toMatchObject({ ticks: 1, color: 'grey' });
    expect(tickInfo(phoneTicks(phone({ ticks: 'delivered' })))).toMatchObject({ ticks: 2, color: 'grey' });
    expect(tickInfo(phoneTicks(phone({ ticks: 'read' })))).toMatchObject({ ticks: 2, color: 'blue' });
    expect(tickInfo(phoneTicks(phone({ ticks: 'read', deleted: true })))).toMatchObject({ kind: 'deleted' });
    expect(tickInfo(phoneTicks(phone({ ticks: null })))).toMatchObject({ kind: 'pending' });
  });

  it("show an operator's message as Bitrix24 does: a clock while sending, then delivered and read", () => {
    expect(tickInfo(consoleTicks(op({ state: 'sending' })))).toMatchObject({ kind: 'pending', ticks: 0 });
    expect(tickInfo(consoleTicks(op({ state: 'delivered' })))).toMatchObject({ kind: 'delivered', ticks: 2, color: 'grey' });
    expect(tickInfo(consoleTicks(op({ state: 'read' })))).toMatchObject({ kind: 'read', color: 'blue' });
    expect(tickInfo(consoleTicks(op({ state: 'read', deleted: true })))).toMatchObject({ kind: 'deleted' });
    expect(tickInfo(consoleTicks(op({ state: 'failed' })))).toMatchObject({ kind: 'failed', color: 'red' });
  });
});

describe('the 24-hour window', () => {
  const now = new Date(2025, 4, 3, 12, 0).getTime();
  const h = 3_600_000;
  it('reads as open until, closed since, or not started', () => {
    expect(windowLabel({ state: 'open', open_until: now + 23 * h, closed_since: null }, now)).toBe('Open until 11:00 tomorrow');
    expect(windowLabel({ state: 'closed', open_until: null, closed_since: now - h }, now)).toBe('Closed since 11:00');
    expect(windowLabel({ state: 'none', open_until: null, closed_since: null }, now)).toMatch(/not written/);
    expect(windowLabel(null, now)).toMatch(/not written/);
  });
  it('names the day when it is not today', () => {
    expect(dayTime(now - 25 * h, now)).toBe('11:00 yesterday');
    expect(dayTime(now, now)).toBe('12:00');
    expect(dayTime(now - 72 * h, now)).toBe('12:00 on 30 Apr');
  });
});

describe('WhatsApp formatting', () => {
  it('makes the signature bold and keeps the rest as written', () => {
    expect(whatsappSpans('*Maria (operator):*\nYes, it ships today.')).toEqual([{ text: 'Maria (operator):', bold: true }, { text: '\nYes, it ships today.' }]);
  });

  it('reads _italic_ and ~strike~ and leaves lone or inner marks alone', () => {
    expect(whatsappSpans('a _b_ ~c~ d')).toEqual([{ text: 'a ' }, { text: 'b', italic: true }, { text: ' ' }, { text: 'c', strike: true }, { text: ' d' }]);
    expect(whatsappSpans('2*3*4 and snake_case_name')).toEqual([{ text: '2*3*4 and snake_case_name' }]);
    expect(whatsappSpans('* not bold *')).toEqual([{ text: '* not bold *' }]);
    expect(whatsappSpans('*open\nclose*')).toEqual([{ text: '*open\nclose*' }]);
  });
});

describe('trace', () => {
  it('marks the hops that arrived since the last poll', () => {
    const a: TraceEntry = { at_ms: 1, hop: 'whatsapp→b24wa', text: 'x', status: 200 };
    const b: TraceEntry = { at_ms: 2, hop: 'b24wa→bitrix24', text: 'y', status: 200 };
    const fresh = freshEntries([a], [b, a]);
    expect([...fresh]).toEqual(['2|b24wa→bitrix24|y']);
    expect(freshEntries([a, b], [b, a]).size).toBe(0);
  });
});
