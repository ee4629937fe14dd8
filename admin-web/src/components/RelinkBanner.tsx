// The banner over every page (the numbers page and the start page included) naming the
// Web-gateway numbers whose phone is logged out, each with a link to its QR.

import { Alert, Anchor, Group, List, Text } from '@mantine/core';
import { IconQrcode } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { Link, useLocation } from 'react-router';
import { api } from '../api';
import type { NumberView } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { formatPhone } from '../lib/format';
import { NOT_LINKED, numbersToRelink } from '../lib/relink';
import { useApi } from '../lib/useApi';

/** How often the banner looks again (a logout shows within this). */
const POLL_MS = 15_000;
/** The most numbers named; the rest are counted. */
const SHOWN = 10;

export function RelinkAlert({ numbers, total }: { numbers: NumberView[]; total?: number }) {
  const { t } = useTranslation();
  const list = numbersToRelink(numbers);
  if (list.length === 0) return null;
  const count = Math.max(total ?? list.length, list.length);
  const shown = list.slice(0, SHOWN);
  return (
    <Alert color="orange" variant="light" icon={<IconQrcode size={18} />} title={t('relink.title', { count })} mb="md" data-testid="relink-banner">
      <Text size="sm" mb={6}>
        {t('relink.text')}
      </Text>
      <List size="sm" spacing={2}>
        {shown.map((n) => (
          <List.Item key={n.id} data-testid="relink-number" data-id={n.id}>
            <Group gap={6} wrap="wrap">
              <Text size="sm" fw={600} span>
                {formatPhone(n.display_phone) !== '—' ? formatPhone(n.display_phone) : n.phone_number_id}
              </Text>
              <Text size="sm" c="dimmed" span>
                {t('relink.line', { line: n.line })}
              </Text>
              <Anchor component={Link} to={`/numbers/${n.id}/qr`} size="sm" data-testid="relink-qr">
                {t('relink.showQr')}
              </Anchor>
            </Group>
          </List.Item>
        ))}
      </List>
      {count > shown.length && (
        <Text size="xs" c="dimmed" mt={6}>
          {t('relink.more', { count: count - shown.length })}
        </Text>
      )}
    </Alert>
  );
}

/** For those who manage numbers (tenant admins, support): the banner when a phone is logged out. */
export function RelinkBanner() {
  const me = useMe();
  const manages = me.role === 'tenant_admin' || me.role === 'support';
  // Looked at again on every page change too (a number just connected or linked shows at once).
  const { pathname } = useLocation();
  const list = useApi(
    manages ? (signal) => api.numbers({ transport: 'gateway', state: NOT_LINKED, active: true, per_page: 50 }, signal) : null,
    [manages, pathname],
    { pollMs: POLL_MS },
  );
  if (!list.data) return null;
  return <RelinkAlert numbers={list.data.items} total={list.data.total} />;
}
