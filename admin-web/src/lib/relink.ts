// Web-gateway numbers whose phone is logged out or not yet linked (GREEN-API `notAuthorized`,
// Evolution API `close` / logout: the service reports both as `notAuthorized`): they relay
// nothing until the phone scans the QR, so every page says so (the relink banner).

import type { NumberView } from '../api/types';

/** The session state of a Web-gateway number whose phone is not linked. */
export const NOT_LINKED = 'notAuthorized';

/** The numbers of `list` that need their phone linked again, by line. */
export function numbersToRelink(list: NumberView[]): NumberView[] {
  return list
    .filter((n) => n.transport === 'gateway' && n.active && n.session_state === NOT_LINKED)
    .sort((a, b) => a.line.localeCompare(b.line, undefined, { numeric: true }) || a.id - b.id);
}
