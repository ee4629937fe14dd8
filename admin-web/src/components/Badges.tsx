// Colour-coded states: a number's session, a job's status.

import { Badge } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { Job, NumberView } from '../api/types';
import i18n from '../i18n';

const SESSION: Record<string, { color: string; label: () => string }> = {
  ok: { color: 'green', label: () => i18n.t('session.ok') },
  authorized: { color: 'green', label: () => i18n.t('session.authorized') },
  notAuthorized: { color: 'yellow', label: () => i18n.t('session.notAuthorized') },
  starting: { color: 'blue', label: () => i18n.t('session.starting') },
  sleepMode: { color: 'orange', label: () => i18n.t('session.sleepMode') },
  blocked: { color: 'red', label: () => i18n.t('session.blocked') },
  yellowCard: { color: 'orange', label: () => i18n.t('session.yellowCard') },
  token_invalid: { color: 'red', label: () => i18n.t('session.token_invalid') },
};

/** A number's session state in words (an unknown state as the service names it). */
export function sessionLabel(state: string): string {
  return SESSION[state]?.label() ?? state;
}

export function isHealthy(n: Pick<NumberView, 'active' | 'session_state'>): boolean {
  return n.active && (n.session_state === 'ok' || n.session_state === 'authorized');
}

export function SessionBadge({ number }: { number: Pick<NumberView, 'active' | 'session_state'> }) {
  const { t } = useTranslation();
  if (!number.active) {
    return (
      <Badge color="gray" variant="light" data-testid="session-state" data-state="inactive">
        {t('session.inactive')}
      </Badge>
    );
  }
  const color = SESSION[number.session_state]?.color ?? 'gray';
  return (
    // Never cut short: a narrow column gives way around it.
    <Badge color={color} variant="light" data-testid="session-state" data-state={number.session_state} style={{ flexShrink: 0, maxWidth: 'none' }}>
      {sessionLabel(number.session_state)}
    </Badge>
  );
}

const JOB_COLOR: Record<Job['status'], string> = { pending: 'blue', done: 'green', dead: 'red' };

export function JobBadge({ status }: { status: Job['status'] }) {
  const { t } = useTranslation();
  const label = status === 'pending' ? t('jobs.status.pending') : status === 'done' ? t('jobs.status.done') : status === 'dead' ? t('jobs.status.dead') : status;
  return (
    <Badge color={JOB_COLOR[status] ?? 'gray'} variant="light" data-testid="job-status" data-status={status}>
      {label}
    </Badge>
  );
}

export function DirectionBadge({ direction }: { direction: 'in' | 'out' }) {
  const { t } = useTranslation();
  return (
    <Badge variant="outline" color={direction === 'in' ? 'teal' : 'indigo'} size="sm">
      {direction === 'in' ? t('direction.in') : t('direction.out')}
    </Badge>
  );
}
