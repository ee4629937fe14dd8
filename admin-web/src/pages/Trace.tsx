// A message's trace: every hop with its time, the jobs that carried it, re-drive for support.

import { Alert, Anchor, Badge, Card, Grid, Group, Paper, SimpleGrid, Stack, Text, Timeline, Title } from '@mantine/core';
import { IconAlertTriangle, IconArrowLeft, IconCircleCheck, IconCircleDot, IconRefresh, IconX } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import type { Hop } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { DirectionBadge } from '../components/Badges';
import { JobsTable } from '../components/JobsTable';
import { RichText } from '../components/RichText';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { Ticks } from '../components/Ticks';
import { formatDateTime, formatGap, formatPhone } from '../lib/format';
import { hopLabel, kindLabel, statusLabel } from '../lib/messages';
import { useApi } from '../lib/useApi';

function hopIcon(h: Hop): ReactNode {
  if (h.hop === 'failed') return <IconX size={12} />;
  if (h.hop === 'redriven') return <IconRefresh size={12} />;
  if (h.hop === 'read' || h.hop === 'delivered' || h.hop === 'to_bitrix24') return <IconCircleCheck size={12} />;
  return <IconCircleDot size={12} />;
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div style={{ minWidth: 0 }}>
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
        {label}
      </Text>
      <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
        {children}
      </Text>
    </div>
  );
}

export function Trace() {
  const { t } = useTranslation();
  const id = Number(useParams().id);
  const me = useMe();
  // Refreshes while open: after a re-drive the next hops arrive within seconds.
  const trace = useApi((signal) => api.trace(id, signal), [id], { pollMs: 3000 });

  if (trace.error && !trace.data) return <ErrorState error={trace.error} onRetry={trace.reload} />;
  if (!trace.data) return <LoadingState rows={6} />;
  const { message: m, hops, jobs, number } = trace.data;
  const start = hops[0]?.at ?? m.created_at;
  const failedHop = [...hops].reverse().find((h) => h.hop === 'failed');

  return (
    <Stack>
      <Anchor component={Link} to="/messages" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} /> {t('search.title')}
        </Group>
      </Anchor>
      <Group justify="space-between" wrap="wrap">
        <Title order={2} data-testid="page-title">
          {t('trace.title', { id: m.id })}
        </Title>
        <Group gap="xs">
          <DirectionBadge direction={m.direction} />
          <Badge color={m.status === 'failed' ? 'red' : 'gray'} variant="light" data-testid="trace-status">
            {statusLabel(m.status)}
          </Badge>
          <Ticks message={m} />
        </Group>
      </Group>
      {m.status === 'failed' && (
        <Alert color="red" variant="light" icon={<IconAlertTriangle />} title={t('trace.failed')}>
          {m.error ?? failedHop?.detail ?? t('trace.seeJobs')}
        </Alert>
      )}
      <Grid gap="md">
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Card withBorder radius="md" padding="md">
            <Text size="sm" style={{ whiteSpace: 'pre-wrap' }} fw={500} mb="sm" data-testid="trace-text">
              {m.text ? m.direction === 'out' ? <RichText text={m.text} /> : m.text : `(${kindLabel(m.kind)})`}
            </Text>
            {m.transcript && (
              <Text size="sm" c="dimmed" fs="italic" mb="sm">
                🎤 {m.transcript}
              </Text>
            )}
            <SimpleGrid cols={2} spacing="sm">
              <Field label={t('chats.col.customer')}>
                {trace.data.customer_name || '—'} {formatPhone(m.customer_wa_id)}
              </Field>
              <Field label={t('chats.col.number')}>
                {formatPhone(number.display_phone)} · {t('trace.line', { line: number.line })} ({number.transport === 'cloud' ? t('transport.cloud') : t('transport.gateway')})
              </Field>
              <Field label={t('trace.wamid')}>{m.wamid ?? '—'}</Field>
              <Field label={t('trace.openLines')}>
                {m.b24_chat_id ? t('trace.chat', { id: m.b24_chat_id }) : '—'}
                {m.b24_message_id ? ` · ${t('trace.message', { id: m.b24_message_id })}` : ''}
              </Field>
              <Field label={t('trace.created')}>{formatDateTime(m.created_at)}</Field>
              <Field label={t('trace.kind')}>{kindLabel(m.kind)}</Field>
            </SimpleGrid>
          </Card>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Paper withBorder radius="md" p="md">
            <Text fw={600} mb="md">
              {t('trace.hops')}
            </Text>
            {hops.length === 0 ? (
              <EmptyState title={t('trace.noHops')} />
            ) : (
              <Timeline active={hops.length - 1} bulletSize={22} lineWidth={2} data-testid="hops">
                {hops.map((h, i) => (
                  <Timeline.Item
                    key={`${h.hop}-${i}`}
                    bullet={hopIcon(h)}
                    color={h.hop === 'failed' ? 'red' : h.hop === 'redriven' ? 'orange' : 'teal'}
                    title={
                      <Group gap="xs" wrap="wrap">
                        <Text size="sm" fw={600} data-testid="hop" data-hop={h.hop}>
                          {hopLabel(h.hop)}
                        </Text>
                        <Text size="xs" c="dimmed" ff="monospace">
                          {h.hop}
                        </Text>
                      </Group>
                    }
                  >
                    <Text size="xs" c="dimmed">
                      {formatDateTime(h.at)} {i > 0 ? `· ${formatGap(h.at - (hops[i - 1]?.at ?? start))}` : ''}
                    </Text>
                    {h.detail && (
                      <Text size="xs" mt={2} style={{ overflowWrap: 'anywhere' }}>
                        {h.detail}
                      </Text>
                    )}
                  </Timeline.Item>
                ))}
              </Timeline>
            )}
          </Paper>
        </Grid.Col>
      </Grid>
      <Paper withBorder radius="md" p="md">
        <Text fw={600} mb="sm">
          {t('trace.jobs')}
        </Text>
        {jobs.length === 0 ? (
          <EmptyState title={t('trace.noJobs')} />
        ) : (
          <JobsTable jobs={jobs} canRedrive={me.role === 'support'} onChanged={trace.reload} linkTrace={false} />
        )}
      </Paper>
    </Stack>
  );
}
