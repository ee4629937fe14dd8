// The plan's quotas against this month (bars) and the tenant's over-quota banner.

import { Alert, Badge, Group, Paper, Progress, SimpleGrid, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import type { PlanUse } from '../api/types';
import { useMe } from '../auth/AuthContext';
import { formatMonth, formatNumber } from '../lib/format';
import { useApi } from '../lib/useApi';
import { overQuotaMessage, quotaAmount, quotaColor, quotaName } from '../lib/quota';

export function OverQuotaBanner({ planUse, plan }: { planUse: PlanUse; plan: string }) {
  const { t } = useTranslation();
  const message = overQuotaMessage(planUse, plan);
  if (!message) return null;
  return (
    <Alert color="red" variant="light" icon={<IconAlertTriangle size={18} />} title={t('quota.overTitle')} mb="md" data-testid="over-quota-banner">
      {message}
    </Alert>
  );
}

/** For a tenant admin on every page: the banner when this month went over a quota. */
export function TenantQuotaBanner() {
  const me = useMe();
  const tenant = me.role === 'tenant_admin' ? me.tenant : null;
  // This month's usage (the default period); refreshed now and then, not per page.
  const usage = useApi(tenant != null ? (signal) => api.usage(tenant, {}, signal) : null, [tenant], { pollMs: 120_000 });
  if (!usage.data) return null;
  return <OverQuotaBanner planUse={usage.data.plan_use} plan={usage.data.plan} />;
}

export function PlanUsage({ planUse, plan }: { planUse: PlanUse; plan: string }) {
  const { t } = useTranslation();
  return (
    <Paper withBorder radius="md" p="md" data-testid="plan-usage">
      <Group justify="space-between" mb="sm">
        <Group gap="xs">
          <Text fw={600}>{t('quota.plan')}</Text>
          <Badge variant="light">{plan}</Badge>
        </Group>
        <Text size="xs" c="dimmed">
          {planUse.known_plan ? t('quota.month', { month: formatMonth(planUse.month) }) : t('quota.unknownPlan')}
        </Text>
      </Group>
      <SimpleGrid cols={{ base: 1, sm: 3 }} spacing="lg">
        {planUse.quotas.map((q) => (
          <div key={q.quota} data-testid={`quota-${q.quota}`} data-over={q.over}>
            <Group justify="space-between" gap={4} wrap="nowrap">
              <Text size="sm">{quotaName(q.quota)}</Text>
              <Text size="sm" fw={600} c={q.over ? 'red' : undefined}>
                {quotaAmount(q)}
              </Text>
            </Group>
            <Progress value={Math.min(q.percent ?? 0, 100)} color={quotaColor(q)} size="lg" radius="xl" mt={6} aria-label={quotaName(q.quota)} />
            <Text size="xs" c="dimmed" mt={4}>
              {q.percent === null ? t('quota.unlimited') : t('quota.percentUsed', { percent: formatNumber(q.percent) })}
            </Text>
          </div>
        ))}
      </SimpleGrid>
    </Paper>
  );
}
