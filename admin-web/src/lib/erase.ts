// Erasing a customer is for good: the admin types the customer's phone (or LID) to confirm.

/** The digits of a phone as typed (`+7 (900) 111-22-33` → `79001112233`). */
function digits(s: string): string {
  return s.replace(/\D/g, '');
}

/**
 * Whether `typed` names the customer whose chat key is `waId`: the same phone digits (any
 * spacing, `+`, brackets or dashes), or for a customer known only by LID (`123@lid`) the LID's
 * digits with or without `@lid`.
 */
export function confirmsCustomer(typed: string, waId: string): boolean {
  const want = digits(waId.replace(/@lid$/i, ''));
  if (want.length === 0) return false;
  const got = typed.trim().replace(/@lid$/i, '');
  return digits(got) === want && !/[a-z]/i.test(got);
}

/** The file name of an export: `conversation-<customer>.<ext>`. */
export function exportFileName(waId: string, ext: 'json' | 'csv'): string {
  return `conversation-${waId.replace(/[^A-Za-z0-9]+/g, '-')}.${ext}`;
}
