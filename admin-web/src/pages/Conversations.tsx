// Conversations, most recently active first; a click opens the chat's messages.

import { Avatar, Badge, Group, Select, Text, TextInput } from '@mantine/core';
import { IconMessages, IconSearch } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api';
import type { Chat, ChatWindow } from '../api/types';
import { DataList, type Column } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { formatDateTime, formatNumber, formatPhone, formatRelative, formatWhen } from '../lib/format';
import { useApi } from '../lib/useApi';
import { usePageParam, useSearchText, useUrlParam } from '../lib/usePage';

const PER_PAGE = 25;

export function Conversations() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [page, setPage] = usePageParam();
  const [search, setSearch] = useUrlParam('q');
  const [numberId, setNumberId] = useUrlParam('number');
  const [text, setText] = useSearchText(search, setSearch);
  const numbers = useApi((signal) => api.numbers({ per_page: 200 }, signal), []);
  const phones = new Map((numbers.data?.items ?? []).map((n) => [n.id, n.display_phone || n.phone_number_id]));
  const chats = useApi(
    (signal) => api.chats({ page, per_page: PER_PAGE, q: search || undefined, number_id: numberId ? Number(numberId) : undefined }, signal),
    [page, search, numberId],
    { pollMs: 10_000 },
  );

  const columns: Column<Chat>[] = [
    {
      key: 'customer',
      label: t('chats.col.customer'),
      render: (c) => (
        <Group gap="sm" wrap="nowrap">
          <Avatar radius="xl" color="teal" size={34}>
            {(c.customer_name || c.customer_wa_id).slice(0, 1).toUpperCase()}
          </Avatar>
          <div style={{ minWidth: 0 }}>
            <Text size="sm" fw={600} truncate>
              {c.customer_name || formatPhone(c.customer_wa_id)}
            </Text>
            <Text size="xs" c="dimmed">
              {formatPhone(c.customer_wa_id)}
            </Text>
          </div>
        </Group>
      ),
    },
    { key: 'number', label: t('chats.col.number'), render: (c) => <Text size="sm">{formatPhone(phones.get(c.number_id) ?? String(c.number_id))}</Text> },
    { key: 'messages', label: t('chats.col.messages'), align: 'right', render: (c) => <Text size="sm">{formatNumber(c.messages, 0)}</Text> },
    {
      key: 'last',
      label: t('chats.col.last'),
      render: (c) => (
        <Text size="sm" title={formatDateTime(c.last_message_at)}>
          {formatRelative(c.last_message_at)}
        </Text>
      ),
    },
    { key: 'window', label: t('chats.col.window'), render: (c) => <WindowBadge window={c.window} /> },
    { key: 'openlines', label: t('chats.col.openLines'), wide: true, render: (c) => <Text size="sm" c={c.b24_chat_id ? undefined : 'dimmed'}>{c.b24_chat_id ?? t('chats.notOpened')}</Text> },
  ];

  return (
    <>
      <PageHeader title={t('chats.title')} description={t('chats.description')} />
      <Group mb="md" gap="sm" wrap="wrap">
        <TextInput
          placeholder={t('chats.search')}
          leftSection={<IconSearch size={16} />}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          style={{ flex: 1, minWidth: 200, maxWidth: 360 }}
          data-testid="chat-search"
        />
        <Select
          placeholder={t('chats.allNumbers')}
          clearable
          value={numberId || null}
          onChange={(v) => setNumberId(v ?? '')}
          data={(numbers.data?.items ?? []).map((n) => ({ value: String(n.id), label: formatPhone(n.display_phone || n.phone_number_id) }))}
          style={{ minWidth: 200 }}
        />
      </Group>
      <DataList
        testId="chats"
        columns={columns}
        page={chats.data}
        loading={chats.loading}
        error={chats.error}
        onRetry={chats.reload}
        rowKey={(c) => c.id}
        onRowClick={(c) => navigate(`/conversations/${c.number_id}/${encodeURIComponent(c.customer_wa_id)}`)}
        onPage={setPage}
        empty={{
          title: search ? t('chats.noMatch') : t('chats.none'),
          description: search ? t('chats.noMatchHint') : t('chats.noneHint'),
          icon: <IconMessages size={26} />,
        }}
      />
    </>
  );
}

/** Whether free text reaches the customer now (Cloud API numbers), and until / since when. */
function WindowBadge({ window }: { window?: ChatWindow | null }) {
  const { t } = useTranslation();
  if (!window) {
    return (
      <Text size="sm" c="dimmed" title={t('chats.window.noneHint')}>
        {t('chats.window.none')}
      </Text>
    );
  }
  if (window.state === 'open') {
    return (
      <Badge color="teal" variant="light" title={t('chats.window.openHint', { until: formatDateTime(window.open_until) })} data-testid="window-open">
        {t('chats.window.open', { until: formatWhen(window.open_until) })}
      </Badge>
    );
  }
  return (
    <Badge color="orange" variant="light" title={t('chats.window.closedHint')} data-testid="window-closed">
      {window.closed_since ? t('chats.window.closed', { since: formatWhen(window.closed_since) }) : t('chats.window.never')}
    </Badge>
  );
}
