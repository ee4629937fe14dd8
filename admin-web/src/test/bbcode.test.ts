import { describe, expect, it } from 'vitest';
import { parseBbcode } from '../lib/bbcode';

describe('BBCode', () => {
  it("shows an operator's signature in bold and a line break", () => {
    expect(parseBbcode('[b]Sim Operator:[/b][br]Yes, it left.')).toEqual([
      { text: 'Sim Operator:', b: true },
      { text: '\nYes, it left.' },
    ]);
  });

  it('links http(s) only', () => {
    expect(parseBbcode('see [url=https://x.test/a]the page[/url]')).toEqual([{ text: 'see ' }, { text: 'the page', href: 'https://x.test/a' }]);
    expect(parseBbcode('[url]https://x.test[/url]')).toEqual([{ text: 'https://x.test', href: 'https://x.test' }]);
    expect(parseBbcode('[url=javascript:alert(1)]x[/url]')).toEqual([{ text: 'x' }]);
  });

  it('keeps unknown tags as text and drops layout tags', () => {
    expect(parseBbcode('order [1] and [i]soon[/i]')).toEqual([{ text: 'order [1] and ' }, { text: 'soon', i: true }]);
    expect(parseBbcode('[quote]old[/quote] [USER=5]Ann[/USER]')).toEqual([{ text: 'old Ann' }]);
  });

  it('survives unbalanced tags', () => {
    expect(parseBbcode('[/b]x[b]y')).toEqual([{ text: 'x' }, { text: 'y', b: true }]);
  });
});
