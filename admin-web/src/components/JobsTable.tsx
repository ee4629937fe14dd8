// Jobs with their state, the last error and, for support, a re-drive button on failed ones.

import { Button, Card, Code, Group, Stack, Table, Text, Tooltip } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconRefresh } from '@tabler/icons-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { Job } from '../api/types';
import { formatDateTime } from '../lib/format';
import { JobBadge } from './Badges';

export function useRedrive(onDone: () => void) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<number | null>(null);
  const redrive = async (job: Job) => {
    setBusy(job.id);
    try {
      await api.redrive(job.id);
      notifications.show({ color: 'green', title: t('jobs.redriven'), message: t('jobs.redrivenText', { id: job.id }) });
      onDone();
    } catch (e) {
      notifications.show({ color: 'red', title: t('jobs.notRedriven', { id: job.id }), message: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(null);
    }
  };
  return { busy, redrive };
}

export function RedriveButton({ job, canRedrive, busy, onRedrive }: { job: Job; canRedrive: boolean; busy: boolean; onRedrive: (j: Job) => void }) {
  const { t } = useTranslation();
  if (job.status !== 'dead') return null;
  if (!canRedrive) {
    return (
      <Tooltip label={t('jobs.supportRedrives')}>
        <Text size="xs" c="dimmed">
          {t('jobs.status.dead')}
        </Text>
      </Tooltip>
    );
  }
  return (
    <Button size="xs" color="orange" leftSection={<IconRefresh size={14} />} loading={busy} onClick={() => onRedrive(job)} data-testid="redrive">
      {t('jobs.redrive')}
    </Button>
  );
}

export function JobsTable({ jobs, canRedrive, onChanged, linkTrace = true }: { jobs: Job[]; canRedrive: boolean; onChanged: () => void; linkTrace?: boolean }) {
  const { t } = useTranslation();
  const { busy, redrive } = useRedrive(onChanged);
  const phone = useMediaQuery('(max-width: 48em)');
  if (phone) {
    return (
      <Stack gap="sm" data-testid="jobs">
        {jobs.map((j) => (
          <Card key={j.id} withBorder radius="md" padding="sm" data-testid="job" data-status={j.status}>
            <Group justify="space-between" wrap="nowrap" mb={4}>
              <Text size="sm" fw={600}>
                {j.kind}
              </Text>
              <JobBadge status={j.status} />
            </Group>
            <Text size="xs" c="dimmed">
              #{j.id} · {j.owner} · {j.queue_key} · {t('jobs.attempts', { count: j.attempts })}
            </Text>
            {j.last_error && (
              <Code block mt={6} style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                {j.last_error}
              </Code>
            )}
            <Group gap="xs" justify="flex-end" mt="xs">
              {linkTrace && j.message_id !== null && (
                <Button component={Link} to={`/messages/${j.message_id}`} size="xs" variant="subtle">
                  {t('jobs.trace')}
                </Button>
              )}
              <RedriveButton job={j} canRedrive={canRedrive} busy={busy === j.id} onRedrive={redrive} />
            </Group>
          </Card>
        ))}
      </Stack>
    );
  }
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table verticalSpacing="sm" data-testid="jobs">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>{t('jobs.col.job')}</Table.Th>
            <Table.Th>{t('jobs.col.status')}</Table.Th>
            <Table.Th>{t('jobs.col.attempts')}</Table.Th>
            <Table.Th>{t('jobs.col.lastError')}</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {jobs.map((j) => (
            <Table.Tr key={j.id} data-testid="job" data-status={j.status}>
              <Table.Td>
                <Stack gap={0}>
                  <Text size="sm" fw={500}>
                    {j.kind}
                  </Text>
                  <Text size="xs" c="dimmed">
                    #{j.id} · {j.owner} · {j.queue_key}
                  </Text>
                </Stack>
              </Table.Td>
              <Table.Td>
                <JobBadge status={j.status} />
              </Table.Td>
              <Table.Td>
                <Text size="sm" title={t('jobs.updated', { at: formatDateTime(j.updated_at) })}>
                  {j.attempts}
                </Text>
              </Table.Td>
              <Table.Td style={{ maxWidth: 360 }}>
                {j.last_error ? (
                  <Code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>{j.last_error}</Code>
                ) : (
                  <Text size="xs" c="dimmed">
                    —
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <Group gap="xs" justify="flex-end" wrap="nowrap">
                  {linkTrace && j.message_id !== null && (
                    <Button component={Link} to={`/messages/${j.message_id}`} size="xs" variant="subtle">
                      {t('jobs.trace')}
                    </Button>
                  )}
                  <RedriveButton job={j} canRedrive={canRedrive} busy={busy === j.id} onRedrive={redrive} />
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

