// A tenant's WhatsApp numbers with their live session state; connect, disconnect, pair by QR.

import { Badge, Button, Group, Modal, SegmentedControl, Stack, Text, TextInput, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlugConnected, IconPlugConnectedX, IconPlus, IconQrcode, IconSearch, IconTemplate } from '@tabler/icons-react';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { NumberView } from '../api/types';
import { isHealthy, SessionBadge } from '../components/Badges';
import { DataList, type Column } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { useMe } from '../auth/AuthContext';
import { formatPhone, formatRelative } from '../lib/format';
import { canWrite } from '../lib/roles';
import { useApi } from '../lib/useApi';
import { usePageParam, useSearchText, useUrlParam } from '../lib/usePage';
import { ConnectNumber } from './ConnectNumber';

const PER_PAGE = 20;
/** How often the list refreshes its session states. */
const POLL_MS = 5000;

export function Numbers() {
  const { t } = useTranslation();
  const me = useMe();
  const navigate = useNavigate();
  const [page, setPage] = usePageParam();
  const [transport, setTransport] = useUrlParam('transport', 'all');
  const [search, setSearch] = useUrlParam('q');
  const [text, setText] = useSearchText(search, setSearch);
  const [connectOpen, setConnectOpen] = useState(false);
  const [toDisconnect, setToDisconnect] = useState<NumberView | null>(null);
  const [busy, setBusy] = useState(false);
  const writable = canWrite(me.role);

  const list = useApi(
    (signal) => api.numbers({ page, per_page: PER_PAGE, transport: transport === 'all' ? undefined : transport, q: search || undefined }, signal),
    [page, transport, search],
    { pollMs: POLL_MS },
  );
  const portals = useApi((signal) => api.portals({ per_page: 200 }, signal), []);
  const domains = useMemo(() => new Map((portals.data?.items ?? []).map((p) => [p.id, p.domain])), [portals.data]);

  const disconnect = async () => {
    if (!toDisconnect) return;
    setBusy(true);
    try {
      await api.disconnect(toDisconnect.id);
      notifications.show({
        color: 'green',
        title: t('numbers.disconnected'),
        message: t('numbers.disconnectedText', { phone: formatPhone(toDisconnect.display_phone), line: toDisconnect.line }),
      });
      setToDisconnect(null);
      list.reload();
    } catch (e) {
      notifications.show({ color: 'red', title: t('numbers.notDisconnected'), message: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  const columns: Column<NumberView>[] = [
    {
      key: 'phone',
      label: t('numbers.col.number'),
      render: (n) => (
        <div>
          <Text fw={600} size="sm" data-testid="number-phone">
            {formatPhone(n.display_phone) !== '—' ? formatPhone(n.display_phone) : n.phone_number_id}
          </Text>
          <Text size="xs" c="dimmed">
            {n.phone_number_id}
          </Text>
        </div>
      ),
    },
    {
      key: 'transport',
      label: t('numbers.col.transport'),
      render: (n) => (
        <Badge variant="dot" color={n.transport === 'cloud' ? 'blue' : 'grape'}>
          {n.transport === 'cloud' ? t('transport.cloud') : t('transport.gateway')}
        </Badge>
      ),
    },
    { key: 'line', label: t('numbers.col.line'), render: (n) => <Text size="sm">#{n.line}</Text> },
    { key: 'portal', label: t('numbers.col.portal'), wide: true, render: (n) => <Text size="sm">{domains.get(n.portal_id) ?? t('numbers.portalId', { id: n.portal_id })}</Text> },
    {
      key: 'state',
      label: t('numbers.col.session'),
      render: (n) => (
        <Group gap={6} wrap="nowrap" justify="inherit">
          <SessionBadge number={n} />
          <Text size="xs" c="dimmed" visibleFrom="md">
            {n.session_changed_at ? formatRelative(n.session_changed_at) : ''}
          </Text>
        </Group>
      ),
    },
    {
      key: 'actions',
      label: '',
      align: 'right',
      render: (n) => (
        <Group gap={6} justify="flex-end" wrap="wrap" onClick={(e) => e.stopPropagation()}>
          {n.transport === 'gateway' && n.active && (
            <Tooltip label={isHealthy(n) ? t('numbers.pairedHint') : t('numbers.pairHint')}>
              <Button
                size="xs"
                variant={isHealthy(n) ? 'subtle' : 'filled'}
                leftSection={<IconQrcode size={14} />}
                onClick={() => navigate(`/numbers/${n.id}/qr`)}
                data-testid="pair"
              >
                {isHealthy(n) ? t('numbers.qr') : t('numbers.pair')}
              </Button>
            </Tooltip>
          )}
          {n.transport === 'cloud' && (
            <Tooltip label={t('numbers.templatesHint')}>
              <Button
                size="xs"
                variant="subtle"
                leftSection={<IconTemplate size={14} />}
                onClick={() => navigate(`/numbers/${n.id}/templates`)}
                data-testid="templates"
              >
                {t('templates.title')}
              </Button>
            </Tooltip>
          )}
          {writable && n.active && (
            <Button size="xs" variant="light" color="red" leftSection={<IconPlugConnectedX size={14} />} onClick={() => setToDisconnect(n)} data-testid="disconnect">
              {t('numbers.disconnect')}
            </Button>
          )}
        </Group>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title={t('numbers.title')}
        description={t('numbers.description')}
        actions={
          writable && (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setConnectOpen(true)} data-testid="connect-number">
              {t('numbers.connect')}
            </Button>
          )
        }
      />
      <Group mb="md" gap="sm" wrap="wrap">
        <SegmentedControl
          value={transport}
          onChange={setTransport}
          data={[
            { value: 'all', label: t('transport.all') },
            { value: 'cloud', label: t('transport.cloud') },
            { value: 'gateway', label: t('transport.gateway') },
          ]}
        />
        <TextInput
          placeholder={t('numbers.search')}
          leftSection={<IconSearch size={16} />}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          style={{ flex: 1, minWidth: 200, maxWidth: 360 }}
        />
      </Group>
      <DataList
        testId="numbers"
        columns={columns}
        page={list.data}
        loading={list.loading}
        error={list.error}
        onRetry={list.reload}
        rowKey={(n) => n.id}
        onPage={setPage}
        empty={{
          title: search || transport !== 'all' ? t('numbers.noMatch') : t('numbers.none'),
          description: writable ? t('numbers.noneHint') : t('numbers.noneReadOnly'),
          icon: <IconPlugConnected size={26} />,
        }}
      />
      <ConnectNumber
        opened={connectOpen}
        onClose={() => setConnectOpen(false)}
        onConnected={(n) => {
          setConnectOpen(false);
          list.reload();
          if (n.transport === 'gateway' && n.session_state !== 'authorized') navigate(`/numbers/${n.id}/qr`);
        }}
      />
      <Modal opened={toDisconnect !== null} onClose={() => setToDisconnect(null)} title={t('numbers.confirmTitle')} centered>
        <Stack>
          <Text size="sm">
            {t('numbers.confirmText', { phone: formatPhone(toDisconnect?.display_phone), line: toDisconnect?.line })}
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setToDisconnect(null)}>
              {t('common.cancel')}
            </Button>
            <Button color="red" loading={busy} onClick={disconnect} data-testid="confirm-disconnect">
              {t('numbers.disconnect')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
