// One chat's messages as bubbles, with WhatsApp ticks, failures and voice-note transcripts.

import { Alert, Anchor, Avatar, Badge, Group, Paper, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { IconAlertTriangle, IconArrowLeft, IconMicrophone, IconPaperclip } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../api';
import { useMe } from '../auth/AuthContext';
import { CustomerData } from '../components/CustomerData';
import type { Message } from '../api/types';
import { RichText } from '../components/RichText';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { Ticks } from '../components/Ticks';
import { formatDateTime, formatPhone, formatTime } from '../lib/format';
import { kindLabel } from '../lib/messages';
import { useApi } from '../lib/useApi';

/** Ticks change as receipts arrive: refresh while the chat is open. */
const POLL_MS = 4000;

function Bubble({ m }: { m: Message }) {
  const { t } = useTranslation();
  const out = m.direction === 'out';
  const failed = m.status === 'failed';
  return (
    <Group justify={out ? 'flex-end' : 'flex-start'} data-testid="message" data-direction={m.direction} data-status={m.status}>
      <Paper
        radius="lg"
        px="md"
        py={8}
        maw="min(560px, 85%)"
        shadow="xs"
        style={{
          background: failed ? 'var(--mantine-color-red-0)' : out ? '#d9fdd3' : 'white',
          border: failed ? '1px solid var(--mantine-color-red-3)' : undefined,
          borderTopRightRadius: out ? 4 : undefined,
          borderTopLeftRadius: out ? undefined : 4,
        }}
      >
        {m.kind !== 'text' && (
          <Badge size="xs" variant="light" color="gray" mb={4} leftSection={m.kind === 'voice' || m.kind === 'audio' ? <IconMicrophone size={10} /> : <IconPaperclip size={10} />}>
            {kindLabel(m.kind)}
          </Badge>
        )}
        {m.text && (
          <Text size="sm" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }} data-testid="message-text">
            {out ? <RichText text={m.text} /> : m.text}
          </Text>
        )}
        {m.transcript && (
          <Text size="sm" c="dimmed" fs="italic" mt={4} data-testid="transcript">
            🎤 {m.transcript}
          </Text>
        )}
        {failed && m.error && (
          <Group gap={4} mt={4} wrap="nowrap" align="flex-start">
            <IconAlertTriangle size={14} color="var(--mantine-color-red-7)" style={{ flexShrink: 0, marginTop: 2 }} />
            <Text size="xs" c="red.8" data-testid="message-error">
              {m.error}
            </Text>
          </Group>
        )}
        <Group gap={6} justify="flex-end" mt={2} wrap="nowrap">
          <Anchor component={Link} to={`/messages/${m.id}`} size="xs" c="dimmed" title={t('jobs.trace')}>
            #{m.id}
          </Anchor>
          <Text size="xs" c="dimmed" title={formatDateTime(m.created_at)}>
            {formatTime(m.created_at)}
          </Text>
          <Ticks message={m} size={16} />
        </Group>
      </Paper>
    </Group>
  );
}

export function ChatMessages() {
  const { t } = useTranslation();
  const params = useParams();
  const numberId = Number(params.numberId);
  const waId = params.waId ?? '';
  const res = useApi((signal) => api.chatMessages(numberId, waId, signal), [numberId, waId], { pollMs: POLL_MS });
  const name = res.data?.chat.customer_name;
  const me = useMe();
  const navigate = useNavigate();
  // The chat's tenant: a tenant admin's own; for support, that of the number's portal.
  const staff = me.tenant === null;
  const numbers = useApi(staff ? (signal) => api.numbers({ per_page: 200 }, signal) : null, [staff]);
  const portals = useApi(staff ? (signal) => api.portals({ per_page: 200 }, signal) : null, [staff]);
  const portalId = numbers.data?.items.find((n) => n.id === numberId)?.portal_id;
  const tenantId = me.tenant ?? portals.data?.items.find((p) => p.id === portalId)?.tenant_id ?? null;

  return (
    <Stack>
      <Anchor component={Link} to="/conversations" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} /> {t('chats.title')}
        </Group>
      </Anchor>
      <Group gap="sm" wrap="nowrap">
        <Avatar radius="xl" color="teal">
          {(name || waId).slice(0, 1).toUpperCase()}
        </Avatar>
        <div style={{ minWidth: 0 }}>
          <Title order={3} data-testid="page-title" style={{ overflowWrap: 'anywhere' }}>
            {name || formatPhone(waId)}
          </Title>
          <Text size="sm" c="dimmed">
            {formatPhone(waId)}
            {res.data?.chat.b24_chat_id ? ` · ${t('chats.openLinesChat', { id: res.data.chat.b24_chat_id })}` : ''}
          </Text>
        </div>
      </Group>
      <CustomerData tenantId={tenantId} waId={waId} onErased={() => navigate('/conversations')} />
      <Paper withBorder radius="md" p={0} style={{ background: '#efeae2' }}>
        <ScrollArea.Autosize mah="calc(100vh - 260px)" type="auto">
          <Stack gap="xs" p="md" data-testid="messages">
            {res.error && !res.data ? (
              <ErrorState error={res.error} onRetry={res.reload} />
            ) : res.loading && !res.data ? (
              <LoadingState rows={5} />
            ) : !res.data || res.data.messages.length === 0 ? (
              <EmptyState title={t('chats.noMessages')} />
            ) : (
              res.data.messages.map((m) => <Bubble key={m.id} m={m} />)
            )}
          </Stack>
        </ScrollArea.Autosize>
      </Paper>
      {res.error && res.data && (
        <Alert color="yellow" variant="light">
          {t('chats.notRefreshed', { error: res.error.message })}
        </Alert>
      )}
      <Text size="xs" c="dimmed">
        {t('chats.ticksLegend')}
      </Text>
    </Stack>
  );
}
