// The audit log: who changed what, with the state before and after.

import { Badge, Code, Collapse, Group, Paper, Stack, Text, TextInput, UnstyledButton } from '@mantine/core';
import { IconChevronDown, IconChevronRight, IconListDetails, IconSearch } from '@tabler/icons-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import type { AuditRecord } from '../api/types';
import { PageFooter } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { formatDateTime } from '../lib/format';
import { useApi } from '../lib/useApi';
import { usePageParam, useSearchText, useUrlParam } from '../lib/usePage';

const PER_PAGE = 30;

function Json({ label, value }: { label: string; value: unknown }) {
  return (
    <div style={{ flex: 1, minWidth: 240 }}>
      <Text size="xs" c="dimmed" fw={700} tt="uppercase" mb={4}>
        {label}
      </Text>
      <Code block style={{ maxHeight: 260, overflow: 'auto' }}>
        {value === null || value === undefined ? '—' : JSON.stringify(value, null, 2)}
      </Code>
    </div>
  );
}

function Row({ r }: { r: AuditRecord }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  return (
    <Paper withBorder radius="sm" p="sm" data-testid="audit-row" data-action={r.action}>
      <UnstyledButton onClick={() => setOpen((o) => !o)} w="100%">
        <Group justify="space-between" wrap="wrap" gap="xs">
          <Group gap="xs" wrap="nowrap" style={{ minWidth: 0 }}>
            {open ? <IconChevronDown size={14} /> : <IconChevronRight size={14} />}
            <Badge variant="light">{r.action}</Badge>
            <Text size="sm" ff="monospace" truncate>
              {r.target}
            </Text>
          </Group>
          <Text size="xs" c="dimmed">
            {r.actor} · {formatDateTime(r.at)}
          </Text>
        </Group>
      </UnstyledButton>
      <Collapse expanded={open}>
        <Group align="flex-start" mt="sm" wrap="wrap">
          <Json label={t('audit.before')} value={r.before} />
          <Json label={t('audit.after')} value={r.after} />
        </Group>
      </Collapse>
    </Paper>
  );
}

export function Audit() {
  const { t } = useTranslation();
  const [page, setPage] = usePageParam();
  const [action, setAction] = useUrlParam('action');
  const [text, setText] = useSearchText(action, setAction);
  const log = useApi((signal) => api.audit({ page, per_page: PER_PAGE, action: action || undefined }, signal), [page, action]);
  return (
    <>
      <PageHeader title={t('audit.title')} description={t('audit.description')} />
      <TextInput
        mb="md"
        placeholder={t('audit.filter')}
        leftSection={<IconSearch size={16} />}
        value={text}
        onChange={(e) => setText(e.currentTarget.value)}
        maw={360}
      />
      <Paper withBorder radius="md" p="md">
        {log.error && !log.data ? (
          <ErrorState error={log.error} onRetry={log.reload} />
        ) : log.loading && !log.data ? (
          <LoadingState />
        ) : !log.data || log.data.items.length === 0 ? (
          <EmptyState title={action ? t('audit.noneOf', { action }) : t('audit.none')} icon={<IconListDetails size={26} />} />
        ) : (
          <>
            <Stack gap="xs" data-testid="audit">
              {log.data.items.map((r) => (
                <Row key={r.id} r={r} />
              ))}
            </Stack>
            <PageFooter page={log.data} onPage={setPage} />
          </>
        )}
      </Paper>
    </>
  );
}
