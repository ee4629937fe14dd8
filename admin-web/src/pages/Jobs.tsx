// The outbox by state; failed (dead) jobs first, with re-drive for support.

import { Paper, SegmentedControl, Group } from '@mantine/core';
import { IconCircleCheck } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { useMe } from '../auth/AuthContext';
import { PageFooter } from '../components/DataList';
import { JobsTable } from '../components/JobsTable';
import { PageHeader } from '../components/Layout';
import { EmptyState, ErrorState, LoadingState } from '../components/States';
import { useApi } from '../lib/useApi';
import { usePageParam, useUrlParam } from '../lib/usePage';

const PER_PAGE = 25;

export function Jobs() {
  const { t } = useTranslation();
  const me = useMe();
  const [page, setPage] = usePageParam();
  const [status, setStatus] = useUrlParam('status', 'dead');
  const jobs = useApi((signal) => api.jobs({ page, per_page: PER_PAGE, status }, signal), [page, status], { pollMs: 10_000 });

  return (
    <>
      <PageHeader
        title={status === 'dead' ? t('jobs.title.dead') : status === 'pending' ? t('jobs.title.pending') : t('jobs.title.done')}
        description={t('jobs.description')}
      />
      <Group mb="md">
        <SegmentedControl
          value={status}
          onChange={setStatus}
          data={[
            { value: 'dead', label: t('jobs.filter.dead') },
            { value: 'pending', label: t('jobs.filter.pending') },
            { value: 'done', label: t('jobs.filter.done') },
          ]}
        />
      </Group>
      <Paper withBorder radius="md" p="md">
        {jobs.error && !jobs.data ? (
          <ErrorState error={jobs.error} onRetry={jobs.reload} />
        ) : jobs.loading && !jobs.data ? (
          <LoadingState />
        ) : !jobs.data || jobs.data.items.length === 0 ? (
          <EmptyState
            title={status === 'dead' ? t('jobs.noneDead') : t('jobs.none')}
            description={status === 'dead' ? t('jobs.noneDeadHint') : undefined}
            icon={status === 'dead' ? <IconCircleCheck size={26} /> : undefined}
          />
        ) : (
          <>
            <JobsTable jobs={jobs.data.items} canRedrive={me.role === 'support'} onChanged={jobs.reload} />
            <PageFooter page={jobs.data} onPage={setPage} />
          </>
        )}
      </Paper>
    </>
  );
}
