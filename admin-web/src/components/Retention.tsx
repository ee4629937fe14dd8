// A tenant's data retention: how long messages and media files are kept, within its plan.

import { Button, Group, Paper, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconClockHour4 } from '@tabler/icons-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { RetentionView } from '../api/types';
import { daysLabel, parseDays, retentionProblem, type RetentionProblem } from '../lib/retention';
import { useApi } from '../lib/useApi';

function problemText(t: (k: string, o?: Record<string, unknown>) => string, p: RetentionProblem, max: number | null): string | null {
  switch (p) {
    case 'notWhole':
      return t('retention.problem.notWhole');
    case 'overPlan':
      return t('retention.problem.overPlan', { max: max ?? 0 });
    case 'foreverNotAllowed':
      return t('retention.problem.foreverNotAllowed', { max: max ?? 0 });
    default:
      return null;
  }
}

function DaysField({ label, value, onChange, max, fallback, disabled, testId }: { label: string; value: string; onChange: (v: string) => void; max: number | null; fallback: number; disabled: boolean; testId: string }) {
  const { t } = useTranslation();
  const problem = problemText(t, retentionProblem(parseDays(value), max), max);
  return (
    <TextInput
      label={label}
      description={t('retention.fieldHint', { fallback: daysLabel(fallback) })}
      placeholder={t('retention.default')}
      value={value}
      onChange={(e) => onChange(e.currentTarget.value)}
      error={problem}
      disabled={disabled}
      inputMode="numeric"
      data-testid={testId}
    />
  );
}

export function RetentionCard({ tenantId, writable }: { tenantId: number; writable: boolean }) {
  const { t } = useTranslation();
  const loaded = useApi((signal) => api.retention(tenantId, signal), [tenantId]);
  const [view, setView] = useState<RetentionView | null>(null);
  const [messages, setMessages] = useState('');
  const [media, setMedia] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!loaded.data) return;
    setView(loaded.data);
    setMessages(loaded.data.messages_days?.toString() ?? '');
    setMedia(loaded.data.media_days?.toString() ?? '');
  }, [loaded.data]);
  if (!view) return null;
  const m = parseDays(messages);
  const f = parseDays(media);
  const invalid = retentionProblem(m, view.max_messages_days) !== null || retentionProblem(f, view.max_media_days) !== null;
  const save = async () => {
    setBusy(true);
    try {
      setView(await api.setRetention(tenantId, { messages_days: m, media_days: f }));
      notifications.show({ color: 'green', message: t('retention.saved') });
    } catch (e) {
      notifications.show({ color: 'red', title: t('retention.notSaved'), message: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <Paper withBorder radius="md" p="md" data-testid="retention">
      <Group gap="xs" mb="xs">
        <IconClockHour4 size={18} />
        <Text fw={600}>{t('retention.title')}</Text>
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        {t('retention.now', { messages: daysLabel(view.effective_messages_days), media: daysLabel(view.effective_media_days) })}
      </Text>
      <Stack gap="sm">
        <Group grow align="flex-start">
          <DaysField label={t('retention.messages')} value={messages} onChange={setMessages} max={view.max_messages_days} fallback={view.default_messages_days} disabled={!writable || busy} testId="retention-messages" />
          <DaysField label={t('retention.media')} value={media} onChange={setMedia} max={view.max_media_days} fallback={view.default_media_days} disabled={!writable || busy} testId="retention-media" />
        </Group>
        <Text size="xs" c="dimmed">
          {view.max_messages_days === null && view.max_media_days === null
            ? t('retention.planNoCap')
            : t('retention.planCap', { messages: daysLabel(view.max_messages_days ?? 0), media: daysLabel(view.max_media_days ?? 0) })}{' '}
          {t('retention.whatGoes')}
        </Text>
        {writable && (
          <Group justify="flex-end">
            <Button size="xs" onClick={() => void save()} loading={busy} disabled={invalid} data-testid="retention-save">
              {t('retention.save')}
            </Button>
          </Group>
        )}
      </Stack>
    </Paper>
  );
}
