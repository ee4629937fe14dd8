// Connecting a number to an Open Line: a Cloud API number (Meta's credentials), or a Web gateway
// instance, GREEN-API or the tenant's own Evolution API server (then paired by QR).

import { Alert, Button, Code, CopyButton, Group, Modal, PasswordInput, Select, Stack, Tabs, Text, TextInput } from '@mantine/core';
import { IconAlertTriangle, IconBrandWhatsapp, IconCheck, IconQrcode } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ApiError } from '../api/client';
import type { ConnectedView, NumberView } from '../api/types';
import i18n from '../i18n';
import { useApi } from '../lib/useApi';

interface Props {
  opened: boolean;
  onClose: () => void;
  onConnected: (n: NumberView) => void;
}

type Fields = Record<string, string>;

/** A form field; its words are read when drawn (in the language spoken then). */
interface Field {
  name: string;
  label: () => string;
  secret?: boolean;
  hint?: () => string;
}

const CLOUD_FIELDS: Field[] = [
  { name: 'phone_number_id', label: () => i18n.t('connect.field.phoneNumberId'), hint: () => i18n.t('connect.field.phoneNumberIdHint') },
  { name: 'display_phone', label: () => i18n.t('connect.field.displayPhone'), hint: () => i18n.t('connect.field.displayPhoneHint') },
  { name: 'access_token', label: () => i18n.t('connect.field.accessToken'), secret: true },
  { name: 'app_secret', label: () => i18n.t('connect.field.appSecret'), secret: true },
  { name: 'verify_token', label: () => i18n.t('connect.field.verifyToken'), secret: true, hint: () => i18n.t('connect.field.verifyTokenHint') },
  { name: 'waba_id', label: () => i18n.t('connect.field.wabaId'), hint: () => i18n.t('connect.field.wabaIdHint') },
];

/** Fields a connect form may leave empty. */
const OPTIONAL = new Set(['display_phone', 'waba_id']);

const GATEWAY_FIELDS: Field[] = [
  { name: 'api_url', label: () => i18n.t('connect.field.apiUrl'), hint: () => i18n.t('connect.field.apiUrlHint') },
  { name: 'id_instance', label: () => i18n.t('connect.field.idInstance'), hint: () => i18n.t('connect.field.idInstanceHint') },
  { name: 'api_token_instance', label: () => i18n.t('connect.field.apiToken'), secret: true },
  { name: 'display_phone', label: () => i18n.t('connect.field.displayPhone'), hint: () => i18n.t('connect.field.gatewayPhoneHint') },
];

const EVOLUTION_FIELDS: Field[] = [
  { name: 'base_url', label: () => i18n.t('connect.field.baseUrl'), hint: () => i18n.t('connect.field.baseUrlHint') },
  { name: 'instance', label: () => i18n.t('connect.field.instance'), hint: () => i18n.t('connect.field.instanceHint') },
  { name: 'api_key', label: () => i18n.t('connect.field.apiKey'), secret: true, hint: () => i18n.t('connect.field.apiKeyHint') },
  { name: 'display_phone', label: () => i18n.t('connect.field.displayPhone'), hint: () => i18n.t('connect.field.gatewayPhoneHint') },
];

/** Tabs whose number is a linked phone shown by QR once connected. */
const QR_TABS = new Set(['gateway', 'evolution']);

export function ConnectNumber({ opened, onClose, onConnected }: Props) {
  const { t } = useTranslation();
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
      setError(t('connect.installFirst'));
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
          : tab === 'evolution'
          ? await api.connectGateway({ ...base, provider: 'evolution', base_url: f('base_url'), instance: f('instance'), api_key: f('api_key'), display_phone: f('display_phone') })
          : await api.connectCloud({
              ...base,
              phone_number_id: f('phone_number_id'),
              display_phone: f('display_phone'),
              access_token: f('access_token'),
              app_secret: f('app_secret'),
              verify_token: f('verify_token'),
              waba_id: f('waba_id') || undefined,
            });
      if (QR_TABS.has(tab ?? '')) {
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

  const list = tab === 'gateway' ? GATEWAY_FIELDS : tab === 'evolution' ? EVOLUTION_FIELDS : CLOUD_FIELDS;
  const qr = QR_TABS.has(tab ?? '');

  return (
    <Modal opened={opened} onClose={close} title={t('connect.title')} size="lg" centered>
      {done ? (
        <Stack>
          <Alert
            color={done.activation === 'active' ? 'green' : done.activation === 'pending' ? 'yellow' : 'red'}
            icon={done.activation === 'active' ? <IconCheck /> : <IconAlertTriangle />}
            title={done.activation === 'active' ? t('connect.active') : done.activation === 'pending' ? t('connect.pending') : t('connect.failed')}
          >
            {done.activation_error ?? t('connect.relays')}
          </Alert>
          <Text size="sm">{t('connect.webhook')}</Text>
          <Group wrap="nowrap" gap="xs">
            <Code block style={{ flex: 1, overflowX: 'auto' }}>
              {done.webhook_url}
            </Code>
            <CopyButton value={done.webhook_url}>
              {({ copied, copy }) => (
                <Button size="xs" variant="light" onClick={copy}>
                  {copied ? t('connect.copied') : t('connect.copy')}
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
              {t('connect.done')}
            </Button>
          </Group>
        </Stack>
      ) : (
        <form onSubmit={submit}>
          <Stack>
            <Tabs value={tab} onChange={(v) => { setTab(v); setError(null); }}>
              <Tabs.List grow>
                <Tabs.Tab value="cloud" leftSection={<IconBrandWhatsapp size={16} />} data-testid="tab-cloud">
                  {t('transport.cloud')}
                </Tabs.Tab>
                <Tabs.Tab value="gateway" leftSection={<IconQrcode size={16} />} data-testid="tab-gateway">
                  {t('connect.gatewayTab')}
                </Tabs.Tab>
                <Tabs.Tab value="evolution" leftSection={<IconQrcode size={16} />} data-testid="tab-evolution">
                  {t('connect.evolutionTab')}
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
                label={t('connect.portal')}
                data={portalOptions}
                value={portal}
                onChange={setMemberId}
                placeholder={portals.loading ? t('states.loading') : t('connect.noPortal')}
                allowDeselect={false}
                required
                style={{ minWidth: 200 }}
              />
              <TextInput label={t('connect.line')} value={line} onChange={(e) => setLine(e.currentTarget.value)} required inputMode="numeric" name="line" style={{ minWidth: 120 }} />
            </Group>
            {list.map((f) =>
              f.secret ? (
                <PasswordInput key={`${tab}-${f.name}`} label={f.label()} description={f.hint?.()} value={fields[f.name] ?? ''} onChange={set(f.name)} name={f.name} required />
              ) : (
                <TextInput key={`${tab}-${f.name}`} label={f.label()} description={f.hint?.()} value={fields[f.name] ?? ''} onChange={set(f.name)} name={f.name} required={!OPTIONAL.has(f.name)} />
              ),
            )}
            {qr && (
              <Text size="xs" c="dimmed">
                {tab === 'evolution' ? t('connect.evolutionHint') : t('connect.gatewayHint')}
              </Text>
            )}
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                {t('common.cancel')}
              </Button>
              <Button type="submit" loading={busy} data-testid="connect-submit">
                {qr ? t('connect.submitGateway') : t('connect.submit')}
              </Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
