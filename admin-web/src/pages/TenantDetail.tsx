// One tenant: its plan and portals, with a way to its usage report.

import { Anchor, Badge, Button, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { IconArrowLeft, IconChartBar } from '@tabler/icons-react';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { formatDateTime } from '../lib/format';
import { useApi } from '../lib/useApi';

export function TenantDetail() {
  const id = Number(useParams().id);
  const t = useApi((signal) => api.tenant(id, signal), [id]);
  return (
    <Stack>
      <Anchor component={Link} to="/tenants" size="sm">
        <Group gap={4}>
          <IconArrowLeft size={14} /> Tenants
        </Group>
      </Anchor>
      {t.error && !t.data ? (
        <ErrorState error={t.error} onRetry={t.reload} />
      ) : !t.data ? (
        <LoadingState />
      ) : (
        <>
          <Group justify="space-between" wrap="wrap">
            <div>
              <Title order={2} data-testid="page-title">
                {t.data.name}
              </Title>
              <Text c="dimmed" size="sm">
                Tenant #{t.data.id} · since {formatDateTime(t.data.created_at)} · plan <Badge variant="light">{t.data.plan}</Badge>
              </Text>
            </div>
            <Button component={Link} to={`/usage?tenant=${t.data.id}`} leftSection={<IconChartBar size={16} />} variant="light">
              Usage report
            </Button>
          </Group>
          <Paper withBorder radius="md" p="md">
            <Text fw={600} mb="sm">
              Bitrix24 portals
            </Text>
            {t.data.portals.length === 0 ? (
              <EmptyState title="No portal" description="This tenant has no Bitrix24 portal with the app installed." />
            ) : (
              <Table.ScrollContainer minWidth={480}>
                <Table>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Domain</Table.Th>
                      <Table.Th>Member ID</Table.Th>
                      <Table.Th>App</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {t.data.portals.map((p) => (
                      <Table.Tr key={p.id}>
                        <Table.Td>{p.domain}</Table.Td>
                        <Table.Td>
                          <Text size="xs" ff="monospace">
                            {p.member_id}
                          </Text>
                        </Table.Td>
                        <Table.Td>
                          <Badge color={p.installed ? 'green' : 'gray'} variant="light">
                            {p.installed ? 'Installed' : 'Uninstalled'}
                          </Badge>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
          </Paper>
        </>
      )}
    </Stack>
  );
}
