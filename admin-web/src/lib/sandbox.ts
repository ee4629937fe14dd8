// The sandbox page's data (`b24wa sandbox` serves /sandbox/api/…; nothing there needs a login)
// and the small pieces of logic the page draws with.

import i18n, { currentLanguage } from '../i18n';
import { formatShortDate } from './format';

export interface PhoneMessage {
  id: string;
  from: 'customer' | 'business';
  kind: string;
  text: string;
  ticks: 'sent' | 'delivered' | 'read' | 'failed' | null;
  deleted: boolean;
  edited: boolean;
  at_ms: number;
  /** A template's quick-reply buttons (Cloud API number), which the customer can tap. */
  buttons: string[];
}

export interface ConsoleFile {
  name: string;
  kind: 'image' | 'video' | 'audio' | 'file' | string;
  url: string;
}

export interface ConsoleMessage {
  id: string;
  from: 'customer' | 'operator' | 'system';
  text: string;
  transcript: string | null;
  files: ConsoleFile[];
  /** `failed`: b24wa did not send it (e.g. the 24-hour window is closed). */
  state: 'sending' | 'delivered' | 'read' | 'failed' | string | null;
  deleted: boolean;
  edited: boolean;
  order: number;
}

export interface TraceEntry {
  at_ms: number;
  hop: 'whatsapp→b24wa' | 'b24wa→whatsapp' | 'b24wa→bitrix24' | 'bitrix24→b24wa' | string;
  text: string;
  status: number;
}

export interface Person {
  name: string;
  phone: string;
}

export type NumberKey = 'gateway' | 'cloud';

export interface SandboxNumber {
  key: NumberKey;
  transport: string;
  phone: string;
  line: string;
}

/** The Cloud API chat's 24-hour window (`none` before the customer wrote). */
export interface ChatWindow {
  state: 'open' | 'closed' | 'none';
  open_until: number | null;
  closed_since: number | null;
}

export interface SandboxTemplate {
  name: string;
  language: string;
  status: string;
  body: string;
  /** The `/template …` line to type, with the template's example values. */
  command: string;
}

export interface SandboxState {
  number: NumberKey;
  numbers: SandboxNumber[];
  phone: { customer: Person; business: Person; messages: PhoneMessage[] };
  console: { line: string; operator: string; customer: Person; messages: ConsoleMessage[] };
  trace: TraceEntry[];
  /** Cloud API number only. */
  window: ChatWindow | null;
  templates: SandboxTemplate[];
  /** `gateway`: what the Web number speaks (`b24wa sandbox --gateway …`). */
  setup: { transcription: boolean; voice_sample_text: string; gateway?: 'green-api' | 'evolution' };
}

export const SANDBOX_API = '/sandbox/api';

export class SandboxError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    // In the app's language, like the admin API: the sandbox's own messages follow it.
    const headers: Record<string, string> = { 'Accept-Language': currentLanguage() };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    res = await fetch(`${SANDBOX_API}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new SandboxError(0, 'offline', i18n.t('sandbox.offline'));
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new SandboxError(res.status, err?.code ?? 'error', err?.message ?? i18n.t('sandbox.answered', { status: res.status }));
  }
  return data as T;
}

/** The path of an action on `number`'s side (the gateway number's are the unprefixed ones). */
const on = (number: NumberKey, path: string) => (number === 'cloud' ? `/cloud${path}` : path);
const msg = (id: string) => encodeURIComponent(id);

export const sandboxApi = {
  state: (number: NumberKey = 'gateway') => call<SandboxState>('GET', `/state?number=${number}`),
  customerWrites: (text: string, number: NumberKey = 'gateway') => call<{ id: string }>('POST', on(number, '/phone/messages'), { text }),
  customerVoice: () => call<{ id: string }>('POST', '/phone/voice', {}),
  customerDeletes: (id: string) => call<{ id: string }>('POST', `/phone/messages/${msg(id)}/delete`, {}),
  customerTaps: (id: string, button: string) => call<{ id: string }>('POST', `/cloud/phone/messages/${msg(id)}/tap`, { button }),
  ageWindow: () => call<{ window: ChatWindow }>('POST', '/cloud/window/age', {}),
  operatorWrites: (text: string, number: NumberKey = 'gateway') => call<{ id: string }>('POST', on(number, '/console/messages'), { text }),
  operatorEdits: (id: string, text: string, number: NumberKey = 'gateway') => call<{ id: string }>('POST', on(number, `/console/messages/${msg(id)}/edit`), { text }),
  operatorDeletes: (id: string, number: NumberKey = 'gateway') => call<{ id: string }>('POST', on(number, `/console/messages/${msg(id)}/delete`), {}),
};

/** How the window reads on the page: `Open until 14:05 tomorrow`, `Closed since 13:05`. */
export function windowLabel(w: ChatWindow | null, now: number): string {
  if (!w || w.state === 'none') return i18n.t('sandbox.window.none');
  if (w.state === 'open' && w.open_until !== null) return i18n.t('sandbox.window.openUntil', { when: dayTime(w.open_until, now) });
  if (w.closed_since !== null) return i18n.t('sandbox.window.closedSince', { when: dayTime(w.closed_since, now) });
  return i18n.t('sandbox.window.closed');
}

/** `14:05`, `14:05 yesterday`, `14:05 tomorrow`, or `14:05 on 3 May` (`вчера в 14:05` …), relative to `now`. */
export function dayTime(ms: number, now: number): string {
  const t = clockTime(ms).slice(0, 5);
  const day = (x: number) => {
    const d = new Date(x);
    return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / 86_400_000;
  };
  const diff = day(ms) - day(now);
  if (diff === 0) return t;
  if (diff === -1) return i18n.t('time.yesterdayAt', { time: t });
  if (diff === 1) return i18n.t('time.tomorrowAt', { time: t });
  return i18n.t('time.onDayAt', { time: t, day: formatShortDate(ms) });
}

/** What the shared Ticks component needs, for a message someone wrote on this side. */
export interface TickMessage {
  direction: 'out';
  status: string;
}

/** The customer's own message on the phone, with WhatsApp's ticks. */
export function phoneTicks(m: PhoneMessage): TickMessage {
  if (m.deleted) return { direction: 'out', status: 'deleted' };
  return { direction: 'out', status: m.ticks ?? 'queued' };
}

/** An operator's message in Open Lines: a clock while sending, then Bitrix24's ticks. */
export function consoleTicks(m: ConsoleMessage): TickMessage {
  if (m.deleted) return { direction: 'out', status: 'deleted' };
  if (m.state === 'failed') return { direction: 'out', status: 'failed' };
  if (m.state === 'read' || m.state === 'delivered') return { direction: 'out', status: m.state };
  return { direction: 'out', status: 'queued' };
}

/** A piece of WhatsApp-formatted text: `*bold*`, `_italic_`, `~strike~`. */
export interface Span {
  text: string;
  bold?: boolean;
  italic?: boolean;
  strike?: boolean;
}

const MARKS: Record<string, keyof Omit<Span, 'text'>> = { '*': 'bold', _: 'italic', '~': 'strike' };

/**
 * WhatsApp's formatting as spans: a mark opens at the start or after a space/punctuation, closes
 * before the end or a space/punctuation, on the same line; anything else is plain text.
 */
export function whatsappSpans(text: string): Span[] {
  const chars = [...text];
  const at = (k: number): string => chars[k] ?? '';
  const out: Span[] = [];
  let plain = '';
  let i = 0;
  const boundary = (c: string) => c === '' || /[\s.,!?;:()"'\-]/.test(c);
  while (i < chars.length) {
    const c = at(i);
    const kind = MARKS[c];
    if (kind && boundary(at(i - 1)) && at(i + 1) !== '' && !/\s/.test(at(i + 1))) {
      const end = findClose(chars, i + 1, c);
      if (end > i + 1 && boundary(at(end + 1))) {
        if (plain) out.push({ text: plain });
        plain = '';
        out.push({ text: chars.slice(i + 1, end).join(''), [kind]: true });
        i = end + 1;
        continue;
      }
    }
    plain += c;
    i += 1;
  }
  if (plain) out.push({ text: plain });
  return out;
}

function findClose(chars: string[], from: number, mark: string): number {
  for (let j = from; j < chars.length; j++) {
    if (chars[j] === '\n') return -1;
    if (chars[j] === mark && !/\s/.test(chars[j - 1] ?? '')) return j;
  }
  return -1;
}

/** `12:04:31.250` in local time: the trace is about fractions of a second. */
export function clockTime(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function traceKey(t: TraceEntry): string {
  return `${t.at_ms}|${t.hop}|${t.text}`;
}

/** The keys of `next`'s entries that `prev` did not have (new hops, to highlight). */
export function freshEntries(prev: TraceEntry[], next: TraceEntry[]): Set<string> {
  const old = new Set(prev.map(traceKey));
  return new Set(next.map(traceKey).filter((k) => !old.has(k)));
}

/** Who sends and who receives, for the trace's labels. */
export function hopLabel(hop: string): { from: string; to: string; color: string } {
  switch (hop) {
    case 'whatsapp→b24wa':
      return { from: 'WhatsApp', to: 'b24wa', color: 'green' };
    case 'b24wa→whatsapp':
      return { from: 'b24wa', to: 'WhatsApp', color: 'teal' };
    case 'b24wa→bitrix24':
      return { from: 'b24wa', to: 'Bitrix24', color: 'blue' };
    case 'bitrix24→b24wa':
      return { from: 'Bitrix24', to: 'b24wa', color: 'cyan' };
    default:
      return { from: hop, to: '', color: 'gray' };
  }
}
