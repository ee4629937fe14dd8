// Connecting a number to an Open Line: a Cloud API number (Meta's credentials), or a Web gateway
// instance (then paired by QR).

import { Alert, Button, Code, CopyButton, Group, Modal, PasswordInput, Select, Stack, Tabs, Text, TextInput } from '@mantine/core';
import { IconAlertTriangle, IconBrandWhatsapp, IconCheck, IconQrcode } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { ConnectedView, NumberView } from '../api/types';
import { useApi } from '../lib/useApi';

interface Props {
  opened: boolean;
  onClose: () => void;
  onConnected: (n: NumberView) => void;
}

type Fields = Record<string, string>;

const CLOUD_FIELDS: { name: string; label: string; secret?: boolean; hint?: string }[] = [
  { name: 'phone_number_id', label: 'Phone number ID', hint: "From Meta's WhatsApp Manager" },
  { name: 'display_phone', label: 'Display phone', hint: 'Digits with country code, e.g. 15550001111' },
  { name: 'access_token', label: 'Access token', secret: true },
  { name: 'app_secret', label: 'App secret', secret: true },
  { name: 'verify_token', label: 'Webhook verify token', secret: true, hint: "Any string; paste the same in Meta's dashboard" },
  { name: 'waba_id', label: 'WhatsApp Business Account ID (optional)', hint: 'Its message templates are synced right after connecting' },
];

/** Fields a connect form may leave empty. */
const OPTIONAL = new Set(['display_phone', 'waba_id']);

const GATEWAY_FIELDS: { name: string; label: string; secret?: boolean; hint?: string }[] = [
  { name: 'api_url', label: 'Gateway API URL', hint: 'The instance apiUrl, e.g. https://api.green-api.com' },
  { name: 'id_instance', label: 'Instance ID', hint: 'Digits' },
  { name: 'api_token_instance', label: 'Instance API token', secret: true },
  { name: 'display_phone', label: 'Display phone', hint: 'The phone you will link, with country code' },
];

export function ConnectNumber({ opened, onClose, onConnected }: Props) {
  const [tab, setTab] = useState<string | null>('cloud');
  const [memberId, setMemberId] = useState<string | null>(null);
  const [line, setLine] = useState('1');
  const [fields, setFields] = useState<Fields>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<ConnectedView | null>(null);
  const portals = useApi(opened ? (signal) => api.portals({ per_page: 200, installed: true }, signal) : null, [opened]);
  const portalOptions = (portals.data?.items ?? []).map((p) => ({ value: p.member_id, label: p.domain }));
  const portal = memberId ?? portalOptions[0]?.value ?? null;

  const set = (name: string) => (e: { currentTarget: { value: string } }) => {
    // Read now: React clears the event's target before a state updater runs.
    const value = e.currentTarget.value;
    setFields((f) => ({ ...f, [name]: value }));
  };

  const reset = () => {
    setFields({});
    setError(null);
    setDone(null);
  };

  const close = () => {
    reset();
    onClose();
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!portal) {
      setError('Install the app on a Bitrix24 portal first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const base = { member_id: portal, line: line.trim() };
      const f = (k: string) => (fields[k] ?? '').trim();
      const res =
        tab === 'gateway'
          ? await api.connectGateway({ ...base, api_url: f('api_url'), id_instance: f('id_instance'), api_token_instance: f('api_token_instance'), display_phone: f('display_phone') })
          : await api.connectCloud({
              ...base,
              phone_number_id: f('phone_number_id'),
              display_phone: f('display_phone'),
              access_token: f('access_token'),
              app_secret: f('app_secret'),
              verify_token: f('verify_token'),
              waba_id: f('waba_id') || undefined,
            });
      if (tab === 'gateway') {
        reset();
        onConnected(res.number);
      } else {
        setDone(res);
      }
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const list = tab === 'gateway' ? GATEWAY_FIELDS : CLOUD_FIELDS;

  return (
    <Modal opened={opened} onClose={close} title="Connect a WhatsApp number" size="lg" centered>
      {done ? (
        <Stack>
          <Alert
            color={done.activation === 'active' ? 'green' : done.activation === 'pending' ? 'yellow' : 'red'}
            icon={done.activation === 'active' ? <IconCheck /> : <IconAlertTriangle />}
            title={done.activation === 'active' ? 'Connected' : done.activation === 'pending' ? 'Activation still running' : 'Stored, but the line did not accept the connector'}
          >
            {done.activation_error ?? 'The number relays on its Open Line.'}
          </Alert>
          <Text size="sm">Set this webhook URL and your verify token in Meta's app dashboard:</Text>
          <Group wrap="nowrap" gap="xs">
            <Code block style={{ flex: 1, overflowX: 'auto' }}>
              {done.webhook_url}
            </Code>
            <CopyButton value={done.webhook_url}>
              {({ copied, copy }) => (
                <Button size="xs" variant="light" onClick={copy}>
                  {copied ? 'Copied' : 'Copy'}
                </Button>
              )}
            </CopyButton>
          </Group>
          <Group justify="flex-end">
            <Button
              onClick={() => {
                const n = done.number;
                reset();
                onConnected(n);
              }}
            >
              Done
            </Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <Tabs value={tab} onChange={(t) => { setTab(t); setError(null); }}>
              <Tabs.List grow>
                <Tabs.Tab value="cloud" leftSection={<IconBrandWhatsapp size={16} />} data-testid="tab-cloud">
                  Cloud API
                </Tabs.Tab>
                <Tabs.Tab value="gateway" leftSection={<IconQrcode size={16} />} data-testid="tab-gateway">
                  Web gateway (QR)
                </Tabs.Tab>
              </Tabs.List>
            </Tabs>
            {error && (
              <Alert color="red" variant="light" icon={<IconAlertTriangle />} data-testid="connect-error">
                {error}
              </Alert>
            )}
            <Group grow align="flex-start" wrap="wrap">
              <Select
                label="Bitrix24 portal"
                data={portalOptions}
                value={portal}
                onChange={setMemberId}
                placeholder={portals.loading ? 'Loading…' : 'No installed portal'}
                allowDeselect={false}
                required
                style={{ minWidth: 200 }}
              />
              <TextInput label="Open Line ID" value={line} onChange={(e) => setLine(e.currentTarget.value)} required inputMode="numeric" name="line" style={{ minWidth: 120 }} />
            </Group>
            {list.map((f) =>
              f.secret ? (
                <PasswordInput key={`${tab}-${f.name}`} label={f.label} description={f.hint} value={fields[f.name] ?? ''} onChange={set(f.name)} name={f.name} required />
              ) : (
                <TextInput key={`${tab}-${f.name}`} label={f.label} description={f.hint} value={fields[f.name] ?? ''} onChange={set(f.name)} name={f.name} required={!OPTIONAL.has(f.name)} />
              ),
            )}
            {tab === 'gateway' && (
              <Text size="xs" c="dimmed">
                We check the credentials with the gateway and point its webhooks at this service. Then scan the QR with the phone.
              </Text>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={busy} data-testid="connect-submit">
                {tab === 'gateway' ? 'Connect and show QR' : 'Connect'}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
