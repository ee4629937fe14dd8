// Find a message by any id (ours, WhatsApp's wamid, the Open Lines message id), a phone or text.

import { Button, Group, SegmentedControl, Text, TextInput } from '@mantine/core';
import { IconSearch } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api';
import type { Message } from '../api/types';
import { DirectionBadge } from '../components/Badges';
import { DataList, type Column } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { RichText } from '../components/RichText';
import { Ticks } from '../components/Ticks';
import { formatDateTime, formatPhone } from '../lib/format';
import { kindLabel, statusLabel } from '../lib/messages';
import { useApi } from '../lib/useApi';
import { usePageParam, useUrlParam } from '../lib/usePage';

const PER_PAGE = 25;

export function MessageSearch() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [page, setPage] = usePageParam();
  const [q, setQ] = useUrlParam('q');
  const [direction, setDirection] = useUrlParam('direction', 'all');
  const [text, setText] = useState(q);
  const results = useApi(
    (signal) => api.searchMessages({ page, per_page: PER_PAGE, q: q || undefined, direction: direction === 'all' ? undefined : direction }, signal),
    [page, q, direction],
  );

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setQ(text.trim());
  };

  const columns: Column<Message>[] = [
    {
      key: 'text',
      label: t('search.col.message'),
      render: (m) => (
        <div style={{ minWidth: 0, maxWidth: 420 }}>
          <Text size="sm" lineClamp={2} data-testid="result-text">
            {m.text ? m.direction === 'out' ? <RichText text={m.text} /> : m.text : <Text span c="dimmed">({kindLabel(m.kind)})</Text>}
          </Text>
          <Text size="xs" c="dimmed" ff="monospace" truncate>
            #{m.id}
            {m.wamid ? ` · ${m.wamid}` : ''}
          </Text>
        </div>
      ),
    },
    { key: 'direction', label: t('search.col.direction'), render: (m) => <DirectionBadge direction={m.direction} /> },
    { key: 'customer', label: t('chats.col.customer'), render: (m) => <Text size="sm">{formatPhone(m.customer_wa_id)}</Text> },
    { key: 'status', label: t('search.col.status'), render: (m) => <Group gap={6} wrap="nowrap" justify="inherit"><Ticks message={m} /><Text size="xs" c="dimmed">{statusLabel(m.status)}</Text></Group> },
    { key: 'at', label: t('search.col.time'), wide: true, render: (m) => <Text size="sm">{formatDateTime(m.created_at)}</Text> },
  ];

  return (
    <>
      <PageHeader title={t('search.title')} description={t('search.description')} />
      <form onSubmit={submit}>
        <Group mb="md" gap="sm" wrap="wrap" align="flex-end">
          <TextInput
            placeholder={t('search.placeholder')}
            leftSection={<IconSearch size={16} />}
            value={text}
            onChange={(e) => setText(e.currentTarget.value)}
            style={{ flex: 1, minWidth: 220, maxWidth: 480 }}
            data-testid="message-query"
            aria-label={t('search.label')}
          />
          <Button type="submit" data-testid="message-search">
            {t('search.submit')}
          </Button>
          <SegmentedControl
            value={direction}
            onChange={setDirection}
            data={[
              { value: 'all', label: t('search.both') },
              { value: 'in', label: t('usage.fromCustomers') },
              { value: 'out', label: t('usage.fromOperators') },
            ]}
          />
        </Group>
      </form>
      <DataList
        testId="messages-found"
        columns={columns}
        page={results.data}
        loading={results.loading}
        error={results.error}
        onRetry={results.reload}
        rowKey={(m) => m.id}
        onRowClick={(m) => navigate(`/messages/${m.id}`)}
        onPage={setPage}
        empty={{ title: q ? t('search.nothing') : t('search.none'), description: q ? t('search.nothingHint', { q }) : t('search.noneHint') }}
      />
    </>
  );
}
