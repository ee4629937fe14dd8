// What a message's ticks are, WhatsApp's way: one grey = sent, two grey = delivered, two blue =
// read. An operator's message (`out`) follows WhatsApp's receipts; a customer's (`in`) is
// "sent" once we stored it, "delivered" once it is in Open Lines and "read" once an operator
// answered (we then mark it read in WhatsApp).

import type { Message } from '../api/types';
import i18n from '../i18n';

export type TickKind = 'pending' | 'sent' | 'delivered' | 'read' | 'failed' | 'deleted';

export interface TickInfo {
  kind: TickKind;
  /** Check marks drawn: 0 (a clock, a cross or nothing), 1 or 2. */
  ticks: 0 | 1 | 2;
  color: 'grey' | 'blue' | 'red';
  label: string;
}

type TickInput = Pick<Message, 'direction' | 'status'> & Partial<Pick<Message, 'delivered_at' | 'read_at' | 'error'>>;

const INFO: Record<TickKind, Omit<TickInfo, 'label'>> = {
  pending: { kind: 'pending', ticks: 0, color: 'grey' },
  sent: { kind: 'sent', ticks: 1, color: 'grey' },
  delivered: { kind: 'delivered', ticks: 2, color: 'grey' },
  read: { kind: 'read', ticks: 2, color: 'blue' },
  failed: { kind: 'failed', ticks: 0, color: 'red' },
  deleted: { kind: 'deleted', ticks: 0, color: 'grey' },
};

const RANK: Record<'pending' | 'sent' | 'delivered' | 'read', number> = { pending: 0, sent: 1, delivered: 2, read: 3 };

export function tickKind(m: TickInput): TickKind {
  if (m.status === 'failed') return 'failed';
  if (m.status === 'deleted') return 'deleted';
  let kind: 'pending' | 'sent' | 'delivered' | 'read';
  if (m.direction === 'out') {
    kind = m.status === 'read' ? 'read' : m.status === 'delivered' ? 'delivered' : m.status === 'sent' ? 'sent' : 'pending';
    // Ticks never go back: a receipt's time counts even if the status was written before it.
    if (m.delivered_at && RANK[kind] < RANK.delivered) kind = 'delivered';
  } else {
    kind = m.status === 'forwarded' ? 'delivered' : 'sent';
  }
  if (m.read_at) kind = 'read';
  return kind;
}

export function tickInfo(m: TickInput): TickInfo {
  const kind = tickKind(m);
  const inbound = m.direction === 'in';
  const label = (): string => {
    switch (kind) {
      case 'pending':
        return i18n.t('ticks.pending');
      case 'sent':
        return inbound ? i18n.t('ticks.receivedIn') : i18n.t('ticks.sent');
      case 'delivered':
        return inbound ? i18n.t('ticks.deliveredIn') : i18n.t('ticks.delivered');
      case 'read':
        return inbound ? i18n.t('ticks.readIn') : i18n.t('ticks.read');
      case 'failed':
        return m.error ? i18n.t('ticks.failedWhy', { error: m.error }) : i18n.t('ticks.failed');
      case 'deleted':
        return i18n.t('ticks.deleted');
    }
  };
  return { ...INFO[kind], label: label() };
}
