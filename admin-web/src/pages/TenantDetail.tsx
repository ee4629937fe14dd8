// One tenant: its plan and portals, with a way to its usage report.

import { Anchor, Badge, Button, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { IconArrowLeft, IconChartBar } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { useMe } from '../auth/AuthContext';
import { RetentionCard } from '../components/Retention';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { formatDateTime } from '../lib/format';
import { canWrite } from '../lib/roles';
import { useApi } from '../lib/useApi';

export function TenantDetail() {
  const { t } = useTranslation();
  const id = Number(useParams().id);
  const tenant = useApi((signal) => api.tenant(id, signal), [id]);
  const writable = canWrite(useMe().role);
  return (
    <Stack>
      <Anchor component={Link} to="/tenants" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} /> {t('nav.tenants')}
        </Group>
      </Anchor>
      {tenant.error && !tenant.data ? (
        <ErrorState error={tenant.error} onRetry={tenant.reload} />
      ) : !tenant.data ? (
        <LoadingState />
      ) : (
        <>
          <Group justify="space-between" wrap="wrap">
            <div>
              <Title order={2} data-testid="page-title">
                {tenant.data.name}
              </Title>
              <Text c="dimmed" size="sm">
                {t('tenant.summary', { id: tenant.data.id, since: formatDateTime(tenant.data.created_at) })} · {t('tenant.plan')} <Badge variant="light">{tenant.data.plan}</Badge>
              </Text>
            </div>
            <Button component={Link} to={`/usage?tenant=${tenant.data.id}`} leftSection={<IconChartBar size={16} />} variant="light">
              {t('tenant.usageReport')}
            </Button>
          </Group>
          <Paper withBorder radius="md" p="md">
            <Text fw={600} mb="sm">
              {t('tenant.portals')}
            </Text>
            {tenant.data.portals.length === 0 ? (
              <EmptyState title={t('tenant.noPortal')} description={t('tenant.noPortalHint')} />
            ) : (
              <Table.ScrollContainer minWidth={480}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>{t('tenant.col.domain')}</Table.Th>
                      <Table.Th>{t('tenant.col.memberId')}</Table.Th>
                      <Table.Th>{t('tenant.col.app')}</Table.Th>
                      <Table.Th>{t('tenant.col.language')}</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {tenant.data.portals.map((p) => (
                      <Table.Tr key={p.id}>
                        <Table.Td>{p.domain}</Table.Td>
                        <Table.Td>
                          <Text size="xs" ff="monospace">
                            {p.member_id}
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Badge color={p.installed ? 'green' : 'gray'} variant="light">
                            {p.installed ? t('tenant.installed') : t('portals.uninstalled')}
                          </Badge>
                          {p.purged_at ? (
                            <Badge color="gray" variant="outline" ml={4} data-testid="portal-purged">
                              {t('tenant.purged')}
                            </Badge>
                          ) : p.purge_after ? (
                            <Badge color="red" variant="light" ml={4} data-testid="portal-purge-after">
                              {t('tenant.purgeOn', { date: formatDateTime(p.purge_after) })}
                            </Badge>
                          ) : null}
                        </Table.Td>
                        <Table.Td data-testid="portal-language-of">
                          {p.language ? `${t('language.name', { lng: p.language })}${p.language_override ? '' : ` (${t('tenant.fromBitrix24')})`}` : '—'}
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Paper>
          <RetentionCard tenantId={tenant.data.id} writable={writable} />
        </>
      )}
    </Stack>
  );
}
