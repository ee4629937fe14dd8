// Every tenant (support, billing) with its health at a glance: numbers not authorized, failed
// jobs, token errors, queue depth, last message, over-quota; plus the service's totals for support.

import { Badge, Card, Group, SimpleGrid, Skeleton, Text, ThemeIcon, Tooltip } from '@mantine/core';
import { IconAlertOctagon, IconBuildingSkyscraper, IconClockHour4, IconDeviceMobileOff, IconDeviceMobile } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
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
  const { t } = useTranslation();
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
      label: t('tenants.col.tenant'),
      render: (h) => (
        <Group gap="sm" wrap="nowrap">
          <ThemeIcon variant="light" radius="xl" color={HEALTH_COLOR[h.status]}>
            <IconBuildingSkyscraper size={16} />
          </ThemeIcon>
          <div>
            <Text size="sm" fw={600} data-testid="tenant-name">
              {h.tenant_name}
            </Text>
            <Text size="xs" c="dimmed">
              #{h.tenant_id}
            </Text>
          </div>
        </Group>
      ),
    },
    {
      key: 'health',
      label: t('tenants.col.health'),
      render: (h) => {
        const problems = healthProblems(h);
        return (
          <div>
            <Badge color={HEALTH_COLOR[h.status]} variant="light" data-testid="tenant-health" data-status={h.status}>
              {h.status === 'ok' ? t('tenants.health.ok') : h.status === 'warning' ? t('tenants.health.warning') : t('tenants.health.error')}
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
      label: t('tenants.col.plan'),
      render: (h) => (
        <Group gap={4} wrap="wrap">
          <Badge variant="light" style={{ flexShrink: 0, maxWidth: 'none' }}>
            {h.plan}
          </Badge>
          {h.over_quota.length > 0 && (
            <Tooltip label={t('tenants.overWhat', { what: h.over_quota.map(quotaName).join(', ') })}>
              <Badge color="red" variant="filled" data-testid="tenant-over-quota" style={{ flexShrink: 0, maxWidth: 'none' }}>
                {t('tenants.overQuota')}
              </Badge>
            </Tooltip>
          )}
        </Group>
      ),
    },
    {
      key: 'numbers',
      label: t('tenants.col.numbers'),
      align: 'right',
      render: (h) => (
        <Text size="sm" c={h.numbers_not_authorized > 0 ? 'red' : undefined}>
          {t('tenants.numbersUp', { up: h.numbers - h.numbers_not_authorized, total: h.numbers })}
        </Text>
      ),
    },
    { key: 'dead', label: t('tenants.col.dead'), align: 'right', wide: true, render: (h) => <Text size="sm" c={h.dead_jobs > 0 ? 'red' : undefined}>{h.dead_jobs}</Text> },
    { key: 'queue', label: t('tenants.col.queue'), align: 'right', wide: true, render: (h) => h.pending_jobs },
    { key: 'last', label: t('tenants.col.last'), wide: true, render: (h) => <Text size="sm">{h.last_message_at ? formatDateTime(h.last_message_at) : t('time.never')}</Text> },
  ];

  return (
    <>
      <PageHeader title={t('tenants.title')} description={support ? t('tenants.descriptionSupport') : t('tenants.description')} />
      {support && (
        <SimpleGrid cols={{ base: 2, md: 4 }} mb="lg" spacing="sm">
          <Stat testId="health-dead" label={t('tenants.stat.dead')} value={health.data?.deadJobs} icon={<IconAlertOctagon size={22} />} color="red" hint={t('tenants.stat.deadHint')} onClick={() => navigate('/jobs')} />
          <Stat testId="health-queue" label={t('tenants.stat.queue')} value={health.data?.pendingJobs} icon={<IconClockHour4 size={22} />} color="blue" hint={t('tenants.stat.queueHint')} onClick={() => navigate('/jobs?status=pending')} />
          <Stat testId="health-attention" label={t('tenants.stat.down')} value={health.data?.attention} icon={<IconDeviceMobileOff size={22} />} color="orange" hint={t('tenants.stat.downHint')} onClick={() => navigate('/numbers')} />
          <Stat testId="health-numbers" label={t('tenants.stat.live')} value={health.data?.numbers} icon={<IconDeviceMobile size={22} />} color="teal" hint={t('tenants.stat.liveHint')} onClick={() => navigate('/numbers')} />
        </SimpleGrid>
      )}
      <DataList
        testId="tenants"
        columns={columns}
        page={tenants.data}
        loading={tenants.loading}
        error={tenants.error}
        onRetry={tenants.reload}
        rowKey={(h) => h.tenant_id}
        onRowClick={(h) => navigate(`/tenants/${h.tenant_id}`)}
        onPage={setPage}
        empty={{ title: t('tenants.none'), description: t('tenants.noneHint') }}
      />
    </>
  );
}
