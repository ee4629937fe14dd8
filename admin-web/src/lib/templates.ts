// A message template's text as text and variables (`{{1}}`, `{{first_name}}`), the example values
// Meta keeps for them, and the colour of a template's review status.

import type { TemplateComponent } from '../api/types';
import i18n from '../i18n';

export type TemplatePart = { kind: 'text'; text: string } | { kind: 'var'; name: string };

/** A variable as Meta allows it: digits (positional) or a lower-case name with `_` (named). */
const VARIABLE = /\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g;

/** `text` split into runs of plain text and variables, in order; anything that is not a
 * well-formed variable (`{{`, `{{a-b}}`, `{x}`) stays text. */
export function splitTemplateText(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(VARIABLE)) {
    const at = m.index ?? 0;
    if (at > last) parts.push({ kind: 'text', text: text.slice(last, at) });
    parts.push({ kind: 'var', name: m[1] ?? '' });
    last = at + m[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** The variables of `text`, each once, in order of first appearance. */
export function templateVariables(text: string): string[] {
  return [...new Set(splitTemplateText(text).flatMap((p) => (p.kind === 'var' ? [p.name] : [])))];
}

/**
 * The example value of each variable of a HEADER or BODY component, by variable name:
 * positional ones from `example.body_text[0]` / `example.header_text` (`{{1}}` is the first),
 * named ones from `example.body_text_named_params` / `example.header_text_named_params`.
 */
export function exampleValues(component: TemplateComponent): Record<string, string> {
  const out: Record<string, string> = {};
  const ex = component.example;
  if (!ex || typeof ex !== 'object') return out;
  const positional = component.type === 'HEADER' ? ex.header_text : Array.isArray(ex.body_text) ? ex.body_text[0] : undefined;
  if (Array.isArray(positional)) {
    positional.forEach((v, i) => {
      if (typeof v === 'string' || typeof v === 'number') out[String(i + 1)] = String(v);
    });
  }
  const named = component.type === 'HEADER' ? ex.header_text_named_params : ex.body_text_named_params;
  if (Array.isArray(named)) {
    for (const p of named) {
      if (p && typeof p.param_name === 'string' && (typeof p.example === 'string' || typeof p.example === 'number')) {
        out[p.param_name] = String(p.example);
      }
    }
  }
  return out;
}

/** The badge colour of a template's status: approved green, in review yellow, refused red,
 * paused orange, anything else grey. */
export function templateStatusColor(status: string): string {
  switch (status.toUpperCase()) {
    case 'APPROVED':
      return 'green';
    case 'PENDING':
    case 'IN_APPEAL':
      return 'yellow';
    case 'REJECTED':
    case 'DISABLED':
      return 'red';
    case 'PAUSED':
      return 'orange';
    default:
      return 'gray';
  }
}

/** `UTILITY` → `Utility`, `INVALID_FORMAT` → `Invalid format`: Meta's words we have no translation of. */
export function words(s: string): string {
  const t = s.replace(/_/g, ' ').toLowerCase();
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** A template's review status in words (`APPROVED` → Approved / Одобрен). */
export function templateStatus(status: string): string {
  switch (status.toUpperCase()) {
    case 'APPROVED':
      return i18n.t('templates.status.APPROVED');
    case 'PENDING':
      return i18n.t('templates.status.PENDING');
    case 'REJECTED':
      return i18n.t('templates.status.REJECTED');
    case 'PAUSED':
      return i18n.t('templates.status.PAUSED');
    case 'DISABLED':
      return i18n.t('templates.status.DISABLED');
    case 'IN_APPEAL':
      return i18n.t('templates.status.IN_APPEAL');
    default:
      return words(status);
  }
}

/** A template's category in words. */
export function templateCategory(category: string): string {
  switch (category.toUpperCase()) {
    case 'MARKETING':
      return i18n.t('templates.category.MARKETING');
    case 'UTILITY':
      return i18n.t('templates.category.UTILITY');
    case 'AUTHENTICATION':
      return i18n.t('templates.category.AUTHENTICATION');
    default:
      return words(category);
  }
}

/** Why Meta refused or paused a template, in words. */
export function templateReason(reason: string): string {
  switch (reason.toUpperCase()) {
    case 'INVALID_FORMAT':
      return i18n.t('templates.reason.INVALID_FORMAT');
    case 'ABUSIVE_CONTENT':
      return i18n.t('templates.reason.ABUSIVE_CONTENT');
    case 'INCORRECT_CATEGORY':
      return i18n.t('templates.reason.INCORRECT_CATEGORY');
    case 'TAG_CONTENT_MISMATCH':
      return i18n.t('templates.reason.TAG_CONTENT_MISMATCH');
    case 'SCAM':
      return i18n.t('templates.reason.SCAM');
    case 'PROMOTIONAL':
      return i18n.t('templates.reason.PROMOTIONAL');
    default:
      return words(reason);
  }
}

/** The newest `synced_at` of a list (when the account was last read), or null. */
export function lastSynced(templates: { synced_at: number }[]): number | null {
  return templates.reduce<number | null>((m, t) => (m === null || t.synced_at > m ? t.synced_at : m), null);
}

/**
 * Whether a template can carry a CRM message as the number's default (the server checks the same):
 * approved, a text or no header without variables, and exactly one variable, in its body.
 */
export function canCarryText(t: { status: string; components: TemplateComponent[] }): boolean {
  if (t.status !== 'APPROVED') return false;
  const comps = Array.isArray(t.components) ? t.components : [];
  const header = comps.find((c) => c.type === 'HEADER');
  if (header && header.format && header.format !== 'TEXT') return false;
  if (header && templateVariables(header.text ?? '').length > 0) return false;
  const body = comps.find((c) => c.type === 'BODY');
  const buttons = comps.find((c) => c.type === 'BUTTONS')?.buttons ?? [];
  if (buttons.some((b) => b.type === 'COPY_CODE' || (b.url && templateVariables(b.url).length > 0))) return false;
  return templateVariables(body?.text ?? '').length === 1;
}
