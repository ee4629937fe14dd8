// The sandbox page's data (`b24wa sandbox` serves /sandbox/api/…; nothing there needs a login)
// and the small pieces of logic the page draws with.

export interface PhoneMessage {
  id: string;
  from: 'customer' | 'business';
  kind: string;
  text: string;
  ticks: 'sent' | 'delivered' | 'read' | 'failed' | null;
  deleted: boolean;
  edited: boolean;
  at_ms: number;
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
  state: 'sending' | 'delivered' | 'read' | string | null;
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

export interface SandboxState {
  phone: { customer: Person; business: Person; messages: PhoneMessage[] };
  console: { line: string; operator: string; customer: Person; messages: ConsoleMessage[] };
  trace: TraceEntry[];
  setup: { transcription: boolean; voice_sample_text: string };
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
    res = await fetch(`${SANDBOX_API}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new SandboxError(0, 'offline', 'The sandbox does not answer: is `make sandbox` still running?');
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new SandboxError(res.status, err?.code ?? 'error', err?.message ?? `The sandbox answered ${res.status}`);
  }
  return data as T;
}

export const sandboxApi = {
  state: () => call<SandboxState>('GET', '/state'),
  customerWrites: (text: string) => call<{ id: string }>('POST', '/phone/messages', { text }),
  customerVoice: () => call<{ id: string }>('POST', '/phone/voice', {}),
  customerDeletes: (id: string) => call<{ id: string }>('POST', `/phone/messages/${encodeURIComponent(id)}/delete`, {}),
  operatorWrites: (text: string) => call<{ id: string }>('POST', '/console/messages', { text }),
  operatorEdits: (id: string, text: string) => call<{ id: string }>('POST', `/console/messages/${encodeURIComponent(id)}/edit`, { text }),
  operatorDeletes: (id: string) => call<{ id: string }>('POST', `/console/messages/${encodeURIComponent(id)}/delete`, {}),
};

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
