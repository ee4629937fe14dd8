// A message's ticks as WhatsApp draws them (see lib/ticks.ts for what they mean).

import { Tooltip } from '@mantine/core';
import { IconAlertCircle, IconClock, IconTrash } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import type { Message } from '../api/types';
import { tickInfo } from '../lib/ticks';

export const TICK_COLORS = { grey: '#8696a0', blue: '#34b7f1', red: '#e03131' } as const;

type Props = { message: Pick<Message, 'direction' | 'status'> & Partial<Pick<Message, 'delivered_at' | 'read_at' | 'error'>>; size?: number };

export function Ticks({ message, size = 18 }: Props) {
  // Drawn again when the language changes (the label is the catalogue's).
  useTranslation();
  const info = tickInfo(message);
  const color = TICK_COLORS[info.color];
  let glyph;
  if (info.kind === 'failed') {
    glyph = <IconAlertCircle size={size} color={color} aria-hidden />;
  } else if (info.kind === 'pending') {
    glyph = <IconClock size={size - 2} color={color} aria-hidden />;
  } else if (info.kind === 'deleted') {
    glyph = <IconTrash size={size - 2} color={color} aria-hidden />;
  } else {
    // One check, or two offset by 5 units, in a 24-unit box (WhatsApp's shape).
    glyph = (
      <svg width={size + 4} height={size} viewBox="0 0 28 24" fill="none" aria-hidden>
        <path d="M2 13l5 5L18 6" stroke={color} strokeWidth={2.4} strokeLinecap="round" strokeLinejoin="round" />
        {info.ticks === 2 && <path d="M12.5 17.5l.5.5L24 6" stroke={color} strokeWidth={2.4} strokeLinecap="round" strokeLinejoin="round" />}
      </svg>
    );
  }
  return (
    <Tooltip label={info.label} withArrow openDelay={200}>
      <span
        role="img"
        aria-label={info.label}
        data-testid="ticks"
        data-kind={info.kind}
        data-ticks={info.ticks}
        data-color={info.color}
        style={{ display: 'inline-flex', alignItems: 'center', lineHeight: 0 }}
      >
        {glyph}
      </span>
    </Tooltip>
  );
}
