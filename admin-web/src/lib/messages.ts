// A message's kind, status and trace hops in words (the chat, the search and the trace pages);
// the service's own names when it reports one the app does not know.

import i18n from '../i18n';

/** What a message that is not plain text carries: `Photo`, `Voice note`, ... */
export function kindLabel(kind: string): string {
  switch (kind) {
    case 'text':
      return i18n.t('message.kind.text');
    case 'image':
      return i18n.t('message.kind.image');
    case 'video':
      return i18n.t('message.kind.video');
    case 'audio':
      return i18n.t('message.kind.audio');
    case 'voice':
      return i18n.t('message.kind.voice');
    case 'document':
      return i18n.t('message.kind.document');
    case 'sticker':
      return i18n.t('message.kind.sticker');
    case 'location':
      return i18n.t('message.kind.location');
    case 'contacts':
      return i18n.t('message.kind.contacts');
    case 'template':
      return i18n.t('message.kind.template');
    default:
      return kind;
  }
}

/** A message's status as stored (`forwarded`, `read`, ...) in words. */
export function statusLabel(status: string): string {
  switch (status) {
    case 'received':
      return i18n.t('message.status.received');
    case 'forwarded':
      return i18n.t('message.status.forwarded');
    case 'queued':
      return i18n.t('message.status.queued');
    case 'sent':
      return i18n.t('message.status.sent');
    case 'delivered':
      return i18n.t('message.status.delivered');
    case 'read':
      return i18n.t('message.status.read');
    case 'failed':
      return i18n.t('message.status.failed');
    case 'deleted':
      return i18n.t('message.status.deleted');
    default:
      return status;
  }
}

/** A hop of the trace (`to_bitrix24`, `redriven`, ...) in words. */
export function hopLabel(hop: string): string {
  switch (hop) {
    case 'customer_sent':
      return i18n.t('trace.hop.customer_sent');
    case 'received':
      return i18n.t('trace.hop.received');
    case 'to_bitrix24':
      return i18n.t('trace.hop.to_bitrix24');
    case 'from_operator':
      return i18n.t('trace.hop.from_operator');
    case 'to_whatsapp':
      return i18n.t('trace.hop.to_whatsapp');
    case 'sent':
      return i18n.t('trace.hop.sent');
    case 'delivered':
      return i18n.t('trace.hop.delivered');
    case 'read':
      return i18n.t('trace.hop.read');
    case 'read_by_operator':
      return i18n.t('trace.hop.read_by_operator');
    case 'failed':
      return i18n.t('trace.hop.failed');
    case 'deleted':
      return i18n.t('trace.hop.deleted');
    case 'edited':
      return i18n.t('trace.hop.edited');
    case 'transcript':
      return i18n.t('trace.hop.transcript');
    case 'redriven':
      return i18n.t('trace.hop.redriven');
    default:
      return hop;
  }
}
