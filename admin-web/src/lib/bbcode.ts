// Operators write in Bitrix24's BBCode ([b], [i], [br], [url=…], …); the chat view shows it as
// formatting, not as tags. Unknown tags stay as typed (a customer's "[1]" is text).

export interface Span {
  text: string;
  b?: boolean;
  i?: boolean;
  u?: boolean;
  s?: boolean;
  /** http(s) links only. */
  href?: string;
}

const STYLE = new Set(['b', 'i', 'u', 's']);
/** Tags whose markup is dropped and whose content is kept as text. */
const PLAIN = new Set(['quote', 'code', 'color', 'size', 'user', 'chat', 'font', 'left', 'right', 'center', 'justify', 'list', 'img', 'icon', 'send', 'put', 'disk', 'call']);
const TAG = /\[(\/?)([a-z*]+)(?:=([^\]]*))?\]/gi;

function safeHref(url: string | undefined): string | undefined {
  const u = url?.trim();
  return u && /^https?:\/\//i.test(u) ? u : undefined;
}

export function parseBbcode(src: string): Span[] {
  const out: Span[] = [];
  const state = { b: 0, i: 0, u: 0, s: 0 };
  let href: string | undefined;
  let last = 0;
  // [url]https://…[/url]: the body is the address.
  src = src.replace(/\[url\]([^[]*)\[\/url\]/gi, (_, u: string) => `[url=${u}]${u}[/url]`);
  const push = (text: string) => {
    if (!text) return;
    const span: Span = { text };
    if (state.b) span.b = true;
    if (state.i) span.i = true;
    if (state.u) span.u = true;
    if (state.s) span.s = true;
    if (href) span.href = href;
    const prev = out[out.length - 1];
    if (prev && prev.b === span.b && prev.i === span.i && prev.u === span.u && prev.s === span.s && prev.href === span.href) prev.text += text;
    else out.push(span);
  };
  for (const m of src.matchAll(TAG)) {
    const [whole, slash, rawName, arg] = m;
    const name = (rawName ?? '').toLowerCase();
    const known = STYLE.has(name) || PLAIN.has(name) || name === 'br' || name === 'url';
    if (!known) continue;
    push(src.slice(last, m.index));
    last = (m.index ?? 0) + whole.length;
    if (name === 'br') push('\n');
    else if (STYLE.has(name)) {
      const k = name as keyof typeof state;
      state[k] = Math.max(0, state[k] + (slash ? -1 : 1));
    } else if (name === 'url') {
      href = slash ? undefined : safeHref(arg);
    }
  }
  push(src.slice(last));
  return out;
}
