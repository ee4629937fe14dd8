// Bitrix24 portals and their Open Lines: which number relays on which line, and its state; the
// language of each portal's operator notices.

import { Anchor, Badge, Box, Card, Group, SimpleGrid, Stack, Text, ThemeIcon } from '@mantine/core';
import { IconBuildingStore, IconPlugConnected } from '@tabler/icons-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api';
import type { NumberView, Portal } from '../api/types';
import { SessionBadge } from '../components/Badges';
import { PageFooter } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { PortalLanguageSelect } from '../components/PortalLanguage';
import { RetentionCard } from '../components/Retention';
import { useMe } from '../auth/AuthContext';
import { canWrite } from '../lib/roles';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { formatDateTime, formatPhone } from '../lib/format';
import { useApi } from '../lib/useApi';
import { usePageParam } from '../lib/usePage';

const PER_PAGE = 20;

/** A portal's numbers by line, lines in numeric order. */
export function linesOf(numbers: NumberView[], portalId: number): [string, NumberView[]][] {
  const lines = new Map<string, NumberView[]>();
  for (const n of numbers.filter((x) => x.portal_id === portalId)) {
    lines.set(n.line, [...(lines.get(n.line) ?? []), n]);
  }
  return [...lines.entries()].sort(([a], [b]) => Number(a) - Number(b));
}

function PortalCard({ portal, numbers, writable }: { portal: Portal; numbers: NumberView[]; writable: boolean }) {
  const { t } = useTranslation();
  // The language's answer replaces the listed portal until the list is loaded again.
  const [p, setP] = useState(portal);
  useEffect(() => setP(portal), [portal]);
  const lines = linesOf(numbers, p.id);
  return (
    <Card withBorder radius="md" padding="md" data-testid="portal">
      <Group justify="space-between" wrap="nowrap" mb="sm">
        <Group gap="sm" wrap="nowrap" style={{ minWidth: 0 }}>
          <ThemeIcon variant="light" radius="md" size={36}>
            <IconBuildingStore size={20} />
          </ThemeIcon>
          <div style={{ minWidth: 0 }}>
            <Text fw={600} truncate data-testid="portal-domain">
              {p.domain}
            </Text>
            <Text size="xs" c="dimmed" ff="monospace" truncate>
              {p.member_id}
            </Text>
          </div>
        </Group>
        <Badge color={p.installed ? 'green' : 'gray'} variant="light" style={{ flexShrink: 0, maxWidth: 'none' }}>
          {p.installed ? t('portals.installed') : t('portals.uninstalled')}
        </Badge>
      </Group>
      {!p.installed && (p.purged_at || p.purge_after) ? (
        <Text size="sm" c={p.purged_at ? 'dimmed' : 'red'} mb="xs" data-testid="portal-purge">
          {p.purged_at ? t('tenant.purged') : t('tenant.purgeOn', { date: formatDateTime(p.purge_after) })}
        </Text>
      ) : null}
      {lines.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('portals.noNumber')}{' '}
          <Anchor component={Link} to="/numbers" size="sm">
            {t('portals.connectOne')}
          </Anchor>
        </Text>
      ) : (
        <Stack gap={6}>
          {lines.map(([line, ns]) => (
            <Group key={line} justify="space-between" wrap="wrap" gap="xs" data-testid="line">
              <Text size="sm" fw={500} style={{ whiteSpace: 'nowrap' }}>
                {t('portals.line', { line })}
              </Text>
              <Stack gap={4} align="flex-end">
                {ns.map((n) => (
                  <Group key={n.id} gap={6} wrap="nowrap">
                    <Text size="sm">{formatPhone(n.display_phone || n.phone_number_id)}</Text>
                    <SessionBadge number={n} />
                  </Group>
                ))}
              </Stack>
            </Group>
          ))}
        </Stack>
      )}
      <PortalLanguageSelect portal={p} writable={writable} onChanged={setP} />
    </Card>
  );
}

export function Portals() {
  const { t } = useTranslation();
  const me = useMe();
  const writable = canWrite(me.role);
  const [page, setPage] = usePageParam();
  const portals = useApi((signal) => api.portals({ page, per_page: PER_PAGE }, signal), [page]);
  // Every number of the visible portals; one page of 200 covers a tenant's lines.
  const numbers = useApi((signal) => api.numbers({ per_page: 200 }, signal), [], { pollMs: 10_000 });
  return (
    <>
      <PageHeader title={t('portals.title')} description={t('portals.description')} />
      {portals.error && !portals.data ? (
        <ErrorState error={portals.error} onRetry={portals.reload} />
      ) : !portals.data ? (
        <LoadingState />
      ) : portals.data.items.length === 0 ? (
        <EmptyState title={t('portals.none')} description={t('portals.noneHint')} icon={<IconPlugConnected size={26} />} />
      ) : (
        <>
          <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md" data-testid="portals">
            {portals.data.items.map((p) => (
              <PortalCard key={p.id} portal={p} numbers={numbers.data?.items ?? []} writable={writable} />
            ))}
          </SimpleGrid>
          <PageFooter page={portals.data} onPage={setPage} />
          {me.tenant !== null && (
            <Box mt="md">
              <RetentionCard tenantId={me.tenant} writable={writable} />
            </Box>
          )}
        </>
      )}
    </>
  );
}
