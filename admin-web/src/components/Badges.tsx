// Colour-coded states: a number's session, a job's status.

import { Badge } from '@mantine/core';
import type { Job, NumberView } from '../api/types';

const SESSION: Record<string, { color: string; label: string }> = {
  ok: { color: 'green', label: 'Connected' },
  authorized: { color: 'green', label: 'Linked' },
  notAuthorized: { color: 'yellow', label: 'Waiting for QR scan' },
  starting: { color: 'blue', label: 'Starting' },
  sleepMode: { color: 'orange', label: 'Phone offline' },
  blocked: { color: 'red', label: 'Blocked by WhatsApp' },
  yellowCard: { color: 'orange', label: 'Restricted (spam)' },
  token_invalid: { color: 'red', label: 'Token rejected' },
};

export function sessionLabel(state: string): string {
  return SESSION[state]?.label ?? state;
}

export function isHealthy(n: Pick<NumberView, 'active' | 'session_state'>): boolean {
  return n.active && (n.session_state === 'ok' || n.session_state === 'authorized');
}

export function SessionBadge({ number }: { number: Pick<NumberView, 'active' | 'session_state'> }) {
  if (!number.active) {
    return (
      <Badge color="gray" variant="light" data-testid="session-state" data-state="inactive">
        Disconnected
      </Badge>
    );
  }
  const s = SESSION[number.session_state] ?? { color: 'gray', label: number.session_state };
  return (
    <Badge color={s.color} variant="light" data-testid="session-state" data-state={number.session_state}>
      {s.label}
    </Badge>
  );
}

const JOB: Record<Job['status'], { color: string; label: string }> = {
  pending: { color: 'blue', label: 'Pending' },
  done: { color: 'green', label: 'Done' },
  dead: { color: 'red', label: 'Failed' },
};

export function JobBadge({ status }: { status: Job['status'] }) {
  const s = JOB[status] ?? { color: 'gray', label: status };
  return (
    <Badge color={s.color} variant="light" data-testid="job-status" data-status={status}>
      {s.label}
    </Badge>
  );
}

export function DirectionBadge({ direction }: { direction: 'in' | 'out' }) {
  return (
    <Badge variant="outline" color={direction === 'in' ? 'teal' : 'indigo'} size="sm">
      {direction === 'in' ? 'Customer → operator' : 'Operator → customer'}
    </Badge>
  );
}
