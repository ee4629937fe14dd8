// Every tenant (support, billing) with its health at a glance: numbers not authorized, failed
// jobs, token errors, queue depth, last message, over-quota; plus the service's totals for support.

import { Badge, Card, Group, SimpleGrid, Skeleton, Text, ThemeIcon, Tooltip } from '@mantine/core';
import { IconAlertOctagon, IconBuildingSkyscraper, IconClockHour4, IconDeviceMobileOff, IconDeviceMobile } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api';
import type { TenantHealth } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { DataList, type Column } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { formatDateTime } from '../lib/format';
import { HEALTH_COLOR, healthProblems, quotaName } from '../lib/quota';
import { useApi } from '../lib/useApi';
import { usePageParam } from '../lib/usePage';

const PER_PAGE = 25;

/** The states in which a number does not relay until someone acts. */
const ATTENTION_STATES = ['notAuthorized', 'token_invalid', 'blocked', 'yellowCard', 'sleepMode'];

interface Health {
  deadJobs: number;
  pendingJobs: number;
  numbers: number;
  attention: number;
}

async function loadHealth(signal: AbortSignal): Promise<Health> {
  const total = (p: Promise<{ total: number }>) => p.then((x) => x.total);
  const [deadJobs, pendingJobs, numbers, ...attention] = await Promise.all([
    total(api.jobs({ status: 'dead', per_page: 1 }, signal)),
    total(api.jobs({ status: 'pending', per_page: 1 }, signal)),
    total(api.numbers({ active: true, per_page: 1 }, signal)),
    ...ATTENTION_STATES.map((state) => total(api.numbers({ state, active: true, per_page: 1 }, signal))),
  ]);
  return { deadJobs: deadJobs ?? 0, pendingJobs: pendingJobs ?? 0, numbers: numbers ?? 0, attention: attention.reduce((a, b) => a + b, 0) };
}

function Stat({ label, value, icon, color, hint, onClick, testId }: { label: string; value: number | undefined; icon: ReactNode; color: string; hint: string; onClick?: () => void; testId: string }) {
  return (
    <Card withBorder radius="md" padding="md" onClick={onClick} style={onClick ? { cursor: 'pointer' } : undefined} data-testid={testId}>
      <Group justify="space-between" wrap="nowrap">
        <div>
          <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
            {label}
          </Text>
          {value === undefined ? <Skeleton h={28} w={48} mt={4} /> : <Text fz={28} fw={700} c={value > 0 && color !== 'teal' ? color : undefined} data-testid="stat-value">{value}</Text>}
        </div>
        <ThemeIcon size={42} radius="md" variant="light" color={color}>
          {icon}
        </ThemeIcon>
      </Group>
      <Text size="xs" c="dimmed" mt={4}>
        {hint}
      </Text>
    </Card>
  );
}

export function Tenants() {
  const me = useMe();
  const navigate = useNavigate();
  const [page, setPage] = usePageParam();
  // Each tenant with its health (support and billing), refreshed while the page is open.
  const tenants = useApi((signal) => api.tenantsHealth({ page, per_page: PER_PAGE }, signal), [page], { pollMs: 15_000 });
  const support = me.role === 'support';
  const health = useApi(support ? loadHealth : null, [support], { pollMs: 15_000 });

  const columns: Column<TenantHealth>[] = [
    {
      key: 'name',
      label: 'Tenant',
      render: (t) => (
        <Group gap="sm" wrap="nowrap">
          <ThemeIcon variant="light" radius="xl" color={HEALTH_COLOR[t.status]}>
            <IconBuildingSkyscraper size={16} />
          </ThemeIcon>
          <div>
            <Text size="sm" fw={600} data-testid="tenant-name">
              {t.tenant_name}
            </Text>
            <Text size="xs" c="dimmed">
              #{t.tenant_id}
            </Text>
          </div>
        </Group>
      ),
    },
    {
      key: 'health',
      label: 'Health',
      render: (t) => {
        const problems = healthProblems(t);
        return (
          <div>
            <Badge color={HEALTH_COLOR[t.status]} variant="light" data-testid="tenant-health" data-status={t.status}>
              {t.status === 'ok' ? 'Healthy' : t.status === 'warning' ? 'Attention' : 'Problem'}
            </Badge>
            {problems.length > 0 && (
              <Text size="xs" c="dimmed" mt={2}>
                {problems.join(' · ')}
              </Text>
            )}
          </div>
        );
      },
    },
    {
      key: 'plan',
      label: 'Plan',
      render: (t) => (
        <Group gap={4} wrap="nowrap">
          <Badge variant="light">{t.plan}</Badge>
          {t.over_quota.length > 0 && (
            <Tooltip label={`Over ${t.over_quota.map(quotaName).join(', ').toLowerCase()}`}>
              <Badge color="red" variant="filled" data-testid="tenant-over-quota">
                Over quota
              </Badge>
            </Tooltip>
          )}
        </Group>
      ),
    },
    {
      key: 'numbers',
      label: 'Numbers',
      align: 'right',
      render: (t) => (
        <Text size="sm" c={t.numbers_not_authorized > 0 ? 'red' : undefined}>
          {t.numbers - t.numbers_not_authorized} / {t.numbers} up
        </Text>
      ),
    },
    { key: 'dead', label: 'Failed jobs', align: 'right', wide: true, render: (t) => <Text size="sm" c={t.dead_jobs > 0 ? 'red' : undefined}>{t.dead_jobs}</Text> },
    { key: 'queue', label: 'Queue', align: 'right', wide: true, render: (t) => t.pending_jobs },
    { key: 'last', label: 'Last message', wide: true, render: (t) => <Text size="sm">{t.last_message_at ? formatDateTime(t.last_message_at) : 'never'}</Text> },
  ];

  return (
    <>
      <PageHeader title="Tenants" description={support ? 'Every customer of the service, and what needs attention now.' : 'Every customer of the service.'} />
      {support && (
        <SimpleGrid cols={{ base: 2, md: 4 }} mb="lg" spacing="sm">
          <Stat testId="health-dead" label="Failed jobs" value={health.data?.deadJobs} icon={<IconAlertOctagon size={22} />} color="red" hint="Gave up; re-drive them" onClick={() => navigate('/jobs')} />
          <Stat testId="health-queue" label="Queue depth" value={health.data?.pendingJobs} icon={<IconClockHour4 size={22} />} color="blue" hint="Jobs waiting or retrying" onClick={() => navigate('/jobs?status=pending')} />
          <Stat testId="health-attention" label="Numbers down" value={health.data?.attention} icon={<IconDeviceMobileOff size={22} />} color="orange" hint="Not linked, token rejected, blocked" onClick={() => navigate('/numbers')} />
          <Stat testId="health-numbers" label="Numbers live" value={health.data?.numbers} icon={<IconDeviceMobile size={22} />} color="teal" hint="Connected to a line" onClick={() => navigate('/numbers')} />
        </SimpleGrid>
      )}
      <DataList
        testId="tenants"
        columns={columns}
        page={tenants.data}
        loading={tenants.loading}
        error={tenants.error}
        onRetry={tenants.reload}
        rowKey={(t) => t.tenant_id}
        onRowClick={(t) => navigate(`/tenants/${t.tenant_id}`)}
        onPage={setPage}
        empty={{ title: 'No tenants yet', description: 'Installing the app on a Bitrix24 portal creates its tenant.' }}
      />
    </>
  );
}
