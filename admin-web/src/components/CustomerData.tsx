// A customer's data on request: export the conversation (JSON, CSV) for a data-access request,
// or erase everything stored about them, confirmed by typing their phone.

import { Alert, Button, Group, List, Modal, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDownload, IconTrash } from '@tabler/icons-react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api';
import { downloadText } from '../lib/csv';
import { confirmsCustomer, exportFileName } from '../lib/erase';
import { formatPhone } from '../lib/format';

interface Props {
  /** The tenant whose data it is; `null` while not known yet (the buttons wait). */
  tenantId: number | null;
  /** The customer's chat key (phone digits, or `<lid>@lid`). */
  waId: string;
  /** Called after an erase (the chat is gone). */
  onErased: () => void;
}

export function CustomerData({ tenantId, waId, onErased }: Props) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState<'json' | 'csv' | 'erase' | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const failed = (title: string, e: unknown) =>
    notifications.show({ color: 'red', title, message: e instanceof ApiError ? e.message : String(e) });

  const download = async (format: 'json' | 'csv') => {
    if (tenantId === null) return;
    setBusy(format);
    try {
      if (format === 'json') {
        const data = await api.exportConversation(tenantId, waId);
        downloadText(exportFileName(waId, 'json'), JSON.stringify(data, null, 2), 'application/json');
      } else {
        downloadText(exportFileName(waId, 'csv'), await api.exportConversationCsv(tenantId, waId));
      }
    } catch (e) {
      failed(t('customerData.exportFailed'), e);
    } finally {
      setBusy(null);
    }
  };

  const erase = async () => {
    if (tenantId === null || !confirmsCustomer(typed, waId)) return;
    setBusy('erase');
    try {
      // The chat key itself: a LID typed without `@lid` would read as a phone.
      const r = await api.eraseCustomer(tenantId, waId);
      notifications.show({ color: 'green', title: t('customerData.erased'), message: t('customerData.erasedText', { count: r.messages }) });
      setConfirming(false);
      onErased();
    } catch (e) {
      failed(t('customerData.eraseFailed'), e);
    } finally {
      setBusy(null);
    }
  };

  const close = () => {
    setConfirming(false);
    setTyped('');
  };

  return (
    <>
      <Group gap="xs" wrap="wrap">
        <Button variant="light" size="xs" leftSection={<IconDownload size={14} />} loading={busy === 'json'} disabled={tenantId === null} onClick={() => void download('json')} data-testid="export-json">
          {t('customerData.exportJson')}
        </Button>
        <Button variant="light" size="xs" leftSection={<IconDownload size={14} />} loading={busy === 'csv'} disabled={tenantId === null} onClick={() => void download('csv')} data-testid="export-csv">
          {t('customerData.exportCsv')}
        </Button>
        <Button variant="light" color="red" size="xs" leftSection={<IconTrash size={14} />} disabled={tenantId === null} onClick={() => setConfirming(true)} data-testid="erase-customer">
          {t('customerData.erase')}
        </Button>
      </Group>
      <Modal opened={confirming} onClose={close} title={t('customerData.eraseTitle')} centered>
        <Stack>
          <Text size="sm">{t('customerData.eraseIntro')}</Text>
          <List size="sm">
            <List.Item>{t('customerData.eraseWhat')}</List.Item>
            <List.Item>{t('customerData.eraseKept')}</List.Item>
            <List.Item>{t('customerData.eraseBitrix')}</List.Item>
          </List>
          <Alert color="red" variant="light">
            {t('customerData.eraseForever')}
          </Alert>
          <TextInput
            label={t('customerData.typeToConfirm', { phone: /@lid$/i.test(waId) ? waId : formatPhone(waId) })}
            value={typed}
            onChange={(e) => setTyped(e.currentTarget.value)}
            autoComplete="off"
            data-testid="erase-confirm-input"
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              {t('common.cancel')}
            </Button>
            <Button color="red" loading={busy === 'erase'} disabled={!confirmsCustomer(typed, waId)} onClick={() => void erase()} data-testid="erase-confirm">
              {t('customerData.eraseButton')}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
