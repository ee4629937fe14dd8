// The three states every list and page has besides its data.

import { Alert, Button, Center, Group, Loader, Skeleton, Stack, Text, ThemeIcon } from '@mantine/core';
import { IconAlertTriangle, IconInbox } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../api/client';

export function LoadingState({ rows = 4, label }: { rows?: number; label?: string }) {
  const { t } = useTranslation();
  return (
    <Stack gap="xs" aria-busy="true" aria-label={label ?? t('states.loading')} data-testid="loading">
      {Array.from({ length: rows }, (_, i) => (
        <Skeleton key={i} height={36} radius="sm" />
      ))}
    </Stack>
  );
}

export function FullPageLoader() {
  return (
    <Center h="100vh">
      <Loader />
    </Center>
  );
}

export function EmptyState({ title, description, icon, action }: { title: string; description?: ReactNode; icon?: ReactNode; action?: ReactNode }) {
  return (
    <Stack align="center" gap="xs" py="xl" data-testid="empty">
      <ThemeIcon size={48} radius="xl" variant="light" color="gray">
        {icon ?? <IconInbox size={26} />}
      </ThemeIcon>
      <Text fw={600}>{title}</Text>
      {description && (
        <Text c="dimmed" size="sm" ta="center" maw={420}>
          {description}
        </Text>
      )}
      {action}
    </Stack>
  );
}

export function ErrorState({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  const { t } = useTranslation();
  const title =
    error.status === 0
      ? t('states.unreachable')
      : error.status === 403
        ? t('states.forbidden')
        : error.status === 404
          ? t('states.notFound')
          : t('states.failed');
  return (
    <Alert color="red" variant="light" icon={<IconAlertTriangle />} title={title} data-testid="error">
      <Group justify="space-between" align="center" wrap="wrap" gap="xs">
        <Text size="sm">
          {error.message}
          {error.code && error.status !== 0 ? (
            <Text span c="dimmed" size="xs" ml={6}>
              ({error.code})
            </Text>
          ) : null}
        </Text>
        {onRetry && (
          <Button size="xs" variant="white" color="red" onClick={onRetry}>
            {t('states.retry')}
          </Button>
        )}
      </Group>
    </Alert>
  );
}
