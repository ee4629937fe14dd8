// A tenant's WhatsApp numbers with their live session state; connect, disconnect, pair by QR.

import { Badge, Button, Group, Modal, SegmentedControl, Stack, Text, TextInput, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlugConnected, IconPlugConnectedX, IconPlus, IconQrcode, IconSearch, IconTemplate } from '@tabler/icons-react';
import { useMemo, useState } from 'react';
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
      notifications.show({ color: 'green', title: 'Disconnected', message: `${formatPhone(toDisconnect.display_phone)} no longer relays on line ${toDisconnect.line}.` });
      setToDisconnect(null);
      list.reload();
    } catch (e) {
      notifications.show({ color: 'red', title: 'Could not disconnect', message: e instanceof ApiError ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };

  const columns: Column<NumberView>[] = [
    {
      key: 'phone',
      label: 'Number',
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
      label: 'Transport',
      render: (n) => (
        <Badge variant="dot" color={n.transport === 'cloud' ? 'blue' : 'grape'}>
          {n.transport === 'cloud' ? 'Cloud API' : 'Web gateway'}
        </Badge>
      ),
    },
    { key: 'line', label: 'Open Line', render: (n) => <Text size="sm">#{n.line}</Text> },
    { key: 'portal', label: 'Portal', wide: true, render: (n) => <Text size="sm">{domains.get(n.portal_id) ?? `portal ${n.portal_id}`}</Text> },
    {
      key: 'state',
      label: 'Session',
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
        <Group gap={6} justify="flex-end" wrap="nowrap" onClick={(e) => e.stopPropagation()}>
          {n.transport === 'gateway' && n.active && (
            <Tooltip label={isHealthy(n) ? 'Linked; see the pairing screen' : 'Scan the QR with the phone'}>
              <Button
                size="xs"
                variant={isHealthy(n) ? 'subtle' : 'filled'}
                leftSection={<IconQrcode size={14} />}
                onClick={() => navigate(`/numbers/${n.id}/qr`)}
                data-testid="pair"
              >
                {isHealthy(n) ? 'QR' : 'Pair phone'}
              </Button>
            </Tooltip>
          )}
          {n.transport === 'cloud' && (
            <Tooltip label="Message templates of this number's WhatsApp Business Account">
              <Button
                size="xs"
                variant="subtle"
                leftSection={<IconTemplate size={14} />}
                onClick={() => navigate(`/numbers/${n.id}/templates`)}
                data-testid="templates"
              >
                Templates
              </Button>
            </Tooltip>
          )}
          {writable && n.active && (
            <Button size="xs" variant="light" color="red" leftSection={<IconPlugConnectedX size={14} />} onClick={() => setToDisconnect(n)} data-testid="disconnect">
              Disconnect
            </Button>
          )}
        </Group>
      ),
    },
  ];

  return (
    <>
      <PageHeader
        title="Numbers"
        description="WhatsApp numbers relaying to your Open Lines. Session states refresh every few seconds."
        actions={
          writable && (
            <Button leftSection={<IconPlus size={16} />} onClick={() => setConnectOpen(true)} data-testid="connect-number">
              Connect number
            </Button>
          )
        }
      />
      <Group mb="md" gap="sm" wrap="wrap">
        <SegmentedControl
          value={transport}
          onChange={setTransport}
          data={[
            { value: 'all', label: 'All' },
            { value: 'cloud', label: 'Cloud API' },
            { value: 'gateway', label: 'Web gateway' },
          ]}
        />
        <TextInput
          placeholder="Search a phone or id"
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
          title: search || transport !== 'all' ? 'No number matches' : 'No numbers yet',
          description: writable
            ? 'Connect a Cloud API number or link a phone through a Web gateway to start relaying WhatsApp chats to Bitrix24.'
            : 'No WhatsApp number is connected.',
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
      <Modal opened={toDisconnect !== null} onClose={() => setToDisconnect(null)} title="Disconnect this number?" centered>
        <Stack>
          <Text size="sm">
            {formatPhone(toDisconnect?.display_phone)} stops relaying on Open Line #{toDisconnect?.line}, and our connector is switched off there. The
            history is kept; connecting the number again resumes.
          </Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setToDisconnect(null)}>
              Cancel
            </Button>
            <Button color="red" loading={busy} onClick={disconnect} data-testid="confirm-disconnect">
              Disconnect
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
