// Usage per tenant and period: the plan's quotas this month, totals, a daily chart and a CSV
// export of the daily figures.

import { Badge, Button, Card, Group, Paper, Select, SimpleGrid, Skeleton, Stack, Text, TextInput, ThemeIcon } from '@mantine/core';
import { IconArrowsDownUp, IconChartBar, IconDeviceMobile, IconDownload, IconMessageCircle, IconMicrophone, IconPhoto, IconSend } from '@tabler/icons-react';
import { lazy, Suspense, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../api';
import type { Usage as UsageView } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { DataList, type Column } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { OverQuotaBanner, PlanUsage } from '../components/PlanUsage';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { downloadText, usageCsv, usageFileName } from '../lib/csv';
import { firstOfMonth, formatMinutes, isoDay } from '../lib/format';
import { useApi } from '../lib/useApi';
import { usePageParam, useSetUrlParams, useUrlParam } from '../lib/usePage';

const UsageChart = lazy(() => import('../components/UsageChart'));

function lastDayOfMonth(d: Date): string {
  return isoDay(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)));
}

function presets(now = new Date()) {
  const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const weekAgo = new Date(now.getTime() - 6 * 86_400_000);
  return [
    { label: 'This month', from: firstOfMonth(now), to: lastDayOfMonth(now) },
    { label: 'Last month', from: firstOfMonth(lastMonth), to: lastDayOfMonth(lastMonth) },
    { label: 'Last 7 days', from: isoDay(weekAgo), to: isoDay(now) },
  ];
}

function Stat({ label, value, icon, sub, testId }: { label: string; value: ReactNode; icon: ReactNode; sub?: ReactNode; testId: string }) {
  return (
    <Card withBorder radius="md" padding="md" data-testid={testId}>
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <div>
          <Text size="xs" c="dimmed" tt="uppercase" fw={700}>
            {label}
          </Text>
          <Text fz={26} fw={700} data-testid="stat-value">
            {value}
          </Text>
          {sub && (
            <Text size="xs" c="dimmed">
              {sub}
            </Text>
          )}
        </div>
        <ThemeIcon variant="light" size={38} radius="md">
          {icon}
        </ThemeIcon>
      </Group>
    </Card>
  );
}

// `banner`: support and billing see the tenant's over-quota banner here; a tenant admin sees it
// on every page already (Layout).
function Report({ u, banner }: { u: UsageView; banner: boolean }) {
  const t = u.totals;
  return (
    <Stack>
      {u.plan_use && (
        <>
          {banner && <OverQuotaBanner planUse={u.plan_use} plan={u.plan} />}
          <PlanUsage planUse={u.plan_use} plan={u.plan} />
        </>
      )}
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }} spacing="sm">
        <Stat testId="total-inbound" label="From customers" value={t.inbound} icon={<IconMessageCircle size={20} />} />
        <Stat testId="total-outbound" label="From operators" value={t.outbound} icon={<IconSend size={20} />} />
        <Stat testId="total-all" label="Messages" value={t.inbound + t.outbound} icon={<IconArrowsDownUp size={20} />} />
        <Stat testId="total-media" label="With media" value={t.media} icon={<IconPhoto size={20} />} />
        <Stat testId="total-transcribed" label="Voice notes" value={t.transcribed} sub={`${formatMinutes(t.transcribed_seconds)} transcribed`} icon={<IconMicrophone size={20} />} />
        <Stat testId="total-numbers" label="Active numbers" value={u.active_numbers} sub={`of ${u.connected_numbers} connected`} icon={<IconDeviceMobile size={20} />} />
      </SimpleGrid>
      <Paper withBorder radius="md" p="md">
        <Group justify="space-between" mb="sm">
          <Text fw={600}>Messages per day</Text>
          <Text size="xs" c="dimmed">
            UTC days
          </Text>
        </Group>
        {u.days.every((d) => d.inbound + d.outbound === 0) ? (
          <EmptyState title="No messages in this period" icon={<IconChartBar size={26} />} />
        ) : (
          <Suspense fallback={<Skeleton h={280} />}>
            <UsageChart days={u.days} />
          </Suspense>
        )}
      </Paper>
    </Stack>
  );
}

function AllTenants({ from, to, onPick }: { from: string; to: string; onPick: (id: number) => void }) {
  const [page, setPage] = usePageParam();
  const all = useApi((signal) => api.allUsage({ page, per_page: 25, from, to }, signal), [page, from, to]);
  const columns: Column<UsageView>[] = [
    { key: 'tenant', label: 'Tenant', render: (u) => <Text size="sm" fw={600}>{u.tenant_name}</Text> },
    { key: 'plan', label: 'Plan', render: (u) => <Badge variant="light">{u.plan}</Badge> },
    { key: 'in', label: 'From customers', align: 'right', render: (u) => u.totals.inbound },
    { key: 'out', label: 'From operators', align: 'right', render: (u) => u.totals.outbound },
    { key: 'media', label: 'Media', align: 'right', wide: true, render: (u) => u.totals.media },
    { key: 'voice', label: 'Transcribed', align: 'right', wide: true, render: (u) => formatMinutes(u.totals.transcribed_seconds) },
    { key: 'numbers', label: 'Active numbers', align: 'right', render: (u) => `${u.active_numbers} / ${u.connected_numbers}` },
  ];
  return (
    <DataList
      testId="usage-all"
      columns={columns}
      page={all.data}
      loading={all.loading}
      error={all.error}
      onRetry={all.reload}
      rowKey={(u) => u.tenant_id}
      onRowClick={(u) => onPick(u.tenant_id)}
      onPage={setPage}
      empty={{ title: 'No tenants yet' }}
    />
  );
}

export function Usage() {
  const me = useMe();
  const navigate = useNavigate();
  const global = me.role !== 'tenant_admin';
  const month = presets()[0]!;
  const [tenantParam, setTenantParam] = useUrlParam('tenant');
  const [from, setFrom] = useUrlParam('from', month.from);
  const [to, setTo] = useUrlParam('to', month.to);
  const setParams = useSetUrlParams();
  const tenantId = global ? (tenantParam ? Number(tenantParam) : null) : me.tenant;
  const tenants = useApi(global ? (signal) => api.tenants({ per_page: 200 }, signal) : null, [global]);
  const usage = useApi(tenantId !== null ? (signal) => api.usage(tenantId, { from, to }, signal) : null, [tenantId, from, to]);

  const exportCsv = () => {
    if (usage.data) downloadText(usageFileName(usage.data), usageCsv(usage.data));
  };

  return (
    <>
      <PageHeader
        title="Usage"
        description={
          usage.data ? (
            <>
              {usage.data.tenant_name} · plan <Badge variant="light" size="sm">{usage.data.plan}</Badge> · {usage.data.from} to {usage.data.to}
            </>
          ) : (
            'Messages relayed, media, voice notes transcribed and active numbers, per tenant and period.'
          )
        }
        actions={
          <Button leftSection={<IconDownload size={16} />} onClick={exportCsv} disabled={!usage.data} variant="light" data-testid="export-csv">
            Export CSV
          </Button>
        }
      />
      <Paper withBorder radius="md" p="md" mb="md">
        <Group gap="sm" align="flex-end" wrap="wrap">
          {global && (
            <Select
              label="Tenant"
              placeholder="All tenants"
              searchable
              clearable
              data={(tenants.data?.items ?? []).map((t) => ({ value: String(t.id), label: t.name }))}
              value={tenantParam || null}
              onChange={(v) => setTenantParam(v ?? '')}
              style={{ minWidth: 220 }}
              data-testid="usage-tenant"
            />
          )}
          <TextInput label="From" type="date" value={from} onChange={(e) => e.currentTarget.value && setFrom(e.currentTarget.value)} data-testid="usage-from" />
          <TextInput label="To" type="date" value={to} onChange={(e) => e.currentTarget.value && setTo(e.currentTarget.value)} data-testid="usage-to" />
          <Group gap={4}>
            {presets().map((p) => (
              <Button
                key={p.label}
                size="xs"
                variant={p.from === from && p.to === to ? 'filled' : 'default'}
                onClick={() => setParams({ from: p.from, to: p.to })}
              >
                {p.label}
              </Button>
            ))}
          </Group>
        </Group>
      </Paper>
      {tenantId === null ? (
        <AllTenants from={from} to={to} onPick={(id) => navigate(`/usage?tenant=${id}&from=${from}&to=${to}`)} />
      ) : usage.error && !usage.data ? (
        <ErrorState error={usage.error} onRetry={usage.reload} />
      ) : usage.loading || !usage.data ? (
        <LoadingState rows={6} />
      ) : (
        <Report u={usage.data} banner={global} />
      )}
    </>
  );
}
