// Usage per tenant and period: the plan's quotas this month, totals, a daily chart and a CSV
// export of the daily figures.

import { Badge, Button, Card, Group, Paper, Select, SimpleGrid, Skeleton, Stack, Text, TextInput, ThemeIcon } from '@mantine/core';
import { IconArrowsDownUp, IconChartBar, IconDeviceMobile, IconDownload, IconMessageCircle, IconMicrophone, IconPhoto, IconSend } from '@tabler/icons-react';
import { lazy, Suspense, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate } from 'react-router';
import { api } from '../api';
import type { Usage as UsageView } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { DataList, type Column } from '../components/DataList';
import { PageHeader } from '../components/Layout';
import { OverQuotaBanner, PlanUsage } from '../components/PlanUsage';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { downloadText, usageCsv, usageFileName } from '../lib/csv';
import i18n from '../i18n';
import { firstOfMonth, formatDay, formatMinutes, formatNumber, isoDay } from '../lib/format';
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
    { id: 'month', label: i18n.t('usage.preset.month'), from: firstOfMonth(now), to: lastDayOfMonth(now) },
    { id: 'lastMonth', label: i18n.t('usage.preset.lastMonth'), from: firstOfMonth(lastMonth), to: lastDayOfMonth(lastMonth) },
    { id: 'week', label: i18n.t('usage.preset.week'), from: isoDay(weekAgo), to: isoDay(now) },
  ];
}

function Stat({ label, value, icon, sub, testId }: { label: string; value: ReactNode; icon: ReactNode; sub?: ReactNode; testId: string }) {
  return (
    <Card withBorder radius="md" padding="md" data-testid={testId}>
      <Group justify="space-between" wrap="nowrap" align="flex-start">
        <div style={{ minWidth: 0 }}>
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
        <ThemeIcon variant="light" size={38} radius="md" style={{ flexShrink: 0 }}>
          {icon}
        </ThemeIcon>
      </Group>
    </Card>
  );
}

// `banner`: support and billing see the tenant's over-quota banner here; a tenant admin sees it
// on every page already (Layout).
function Report({ u, banner }: { u: UsageView; banner: boolean }) {
  const { t } = useTranslation();
  const n = u.totals;
  return (
    <Stack>
      {u.plan_use && (
        <>
          {banner && <OverQuotaBanner planUse={u.plan_use} plan={u.plan} />}
          <PlanUsage planUse={u.plan_use} plan={u.plan} />
        </>
      )}
      {/* Six in a row only on a wide screen: the labels are long in some languages. */}
      <SimpleGrid cols={{ base: 2, sm: 3, xl: 6 }} spacing="sm">
        <Stat testId="total-inbound" label={t('usage.fromCustomers')} value={formatNumber(n.inbound)} icon={<IconMessageCircle size={20} />} />
        <Stat testId="total-outbound" label={t('usage.fromOperators')} value={formatNumber(n.outbound)} icon={<IconSend size={20} />} />
        <Stat testId="total-all" label={t('usage.messages')} value={formatNumber(n.inbound + n.outbound)} icon={<IconArrowsDownUp size={20} />} />
        <Stat testId="total-media" label={t('usage.withMedia')} value={formatNumber(n.media)} icon={<IconPhoto size={20} />} />
        <Stat
          testId="total-transcribed"
          label={t('usage.voiceNotes')}
          value={formatNumber(n.transcribed)}
          sub={t('usage.transcribedFor', { duration: formatMinutes(n.transcribed_seconds) })}
          icon={<IconMicrophone size={20} />}
        />
        <Stat
          testId="total-numbers"
          label={t('usage.activeNumbers')}
          value={formatNumber(u.active_numbers)}
          sub={t('usage.ofConnected', { count: u.connected_numbers, connected: formatNumber(u.connected_numbers) })}
          icon={<IconDeviceMobile size={20} />}
        />
      </SimpleGrid>
      <Paper withBorder radius="md" p="md">
        <Group justify="space-between" mb="sm">
          <Text fw={600}>{t('usage.perDay')}</Text>
          <Text size="xs" c="dimmed">
            {t('usage.utcDays')}
          </Text>
        </Group>
        {u.days.every((d) => d.inbound + d.outbound === 0) ? (
          <EmptyState title={t('usage.noMessages')} icon={<IconChartBar size={26} />} />
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
  const { t } = useTranslation();
  const [page, setPage] = usePageParam();
  const all = useApi((signal) => api.allUsage({ page, per_page: 25, from, to }, signal), [page, from, to]);
  const columns: Column<UsageView>[] = [
    { key: 'tenant', label: t('tenants.col.tenant'), render: (u) => <Text size="sm" fw={600}>{u.tenant_name}</Text> },
    { key: 'plan', label: t('tenants.col.plan'), render: (u) => <Badge variant="light">{u.plan}</Badge> },
    { key: 'in', label: t('usage.fromCustomers'), align: 'right', render: (u) => formatNumber(u.totals.inbound) },
    { key: 'out', label: t('usage.fromOperators'), align: 'right', render: (u) => formatNumber(u.totals.outbound) },
    { key: 'media', label: t('usage.media'), align: 'right', wide: true, render: (u) => formatNumber(u.totals.media) },
    { key: 'voice', label: t('usage.transcribed'), align: 'right', wide: true, render: (u) => formatMinutes(u.totals.transcribed_seconds) },
    { key: 'numbers', label: t('usage.activeNumbers'), align: 'right', render: (u) => `${formatNumber(u.active_numbers)} / ${formatNumber(u.connected_numbers)}` },
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
      empty={{ title: t('tenants.none') }}
    />
  );
}

export function Usage() {
  const { t } = useTranslation();
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
        title={t('usage.title')}
        description={
          usage.data ? (
            <>
              {usage.data.tenant_name} · {t('tenant.plan')} <Badge variant="light" size="sm">{usage.data.plan}</Badge> ·{' '}
              {t('usage.period', { from: formatDay(usage.data.from), to: formatDay(usage.data.to) })}
            </>
          ) : (
            t('usage.description')
          )
        }
        actions={
          <Button leftSection={<IconDownload size={16} />} onClick={exportCsv} disabled={!usage.data} variant="light" data-testid="export-csv">
            {t('usage.export')}
          </Button>
        }
      />
      <Paper withBorder radius="md" p="md" mb="md">
        <Group gap="sm" align="flex-end" wrap="wrap">
          {global && (
            <Select
              label={t('tenants.col.tenant')}
              placeholder={t('usage.allTenants')}
              searchable
              clearable
              data={(tenants.data?.items ?? []).map((x) => ({ value: String(x.id), label: x.name }))}
              value={tenantParam || null}
              onChange={(v) => setTenantParam(v ?? '')}
              style={{ minWidth: 220 }}
              data-testid="usage-tenant"
            />
          )}
          <TextInput label={t('usage.from')} type="date" value={from} onChange={(e) => e.currentTarget.value && setFrom(e.currentTarget.value)} data-testid="usage-from" />
          <TextInput label={t('usage.to')} type="date" value={to} onChange={(e) => e.currentTarget.value && setTo(e.currentTarget.value)} data-testid="usage-to" />
          <Group gap={4}>
            {presets().map((p) => (
              <Button
                key={p.id}
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
