// An operator's BBCode as formatted text (see lib/bbcode.ts).

import { Anchor } from '@mantine/core';
import { parseBbcode } from '../lib/bbcode';

export function RichText({ text }: { text: string }) {
  return (
    <>
      {parseBbcode(text).map((s, i) => {
        const style = {
          fontWeight: s.b ? 700 : undefined,
          fontStyle: s.i ? 'italic' : undefined,
          textDecoration: [s.u ? 'underline' : '', s.s ? 'line-through' : ''].join(' ').trim() || undefined,
        };
        return s.href ? (
          <Anchor key={i} href={s.href} target="_blank" rel="noopener noreferrer" style={style} size="sm">
            {s.text}
          </Anchor>
        ) : (
          <span key={i} style={style}>
            {s.text}
          </span>
        );
      })}
    </>
  );
}
