// A list of rows: a table on a laptop, cards on a phone; with loading, empty and error states and
// pagination (`{items, page, per_page, total}`).

import { Card, Group, Pagination, Paper, Stack, Table, Text } from '@mantine/core';
import { useMediaQuery } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { ApiError } from '../api/client';
import type { Page } from '../api/types';
import { formatNumber } from '../lib/format';
import { EmptyState, ErrorState, LoadingState } from './States';

export interface Column<T> {
  key: string;
  label: string;
  render: (row: T) => ReactNode;
  /** Not shown on a phone's card (secondary detail). */
  wide?: boolean;
  align?: 'left' | 'right' | 'center';
  width?: number | string;
}

interface Props<T> {
  columns: Column<T>[];
  page: Page<T> | undefined;
  loading: boolean;
  error: ApiError | null;
  onRetry?: () => void;
  rowKey: (row: T) => string | number;
  onRowClick?: (row: T) => void;
  empty: { title: string; description?: ReactNode; icon?: ReactNode };
  onPage?: (page: number) => void;
  /** The row's title on a phone card (default: the first column). */
  cardTitle?: (row: T) => ReactNode;
  testId?: string;
}

export function PageFooter({ page, onPage }: { page: Page<unknown>; onPage?: (p: number) => void }) {
  const { t } = useTranslation();
  const pages = Math.max(1, Math.ceil(page.total / Math.max(1, page.per_page)));
  const first = page.total === 0 ? 0 : (page.page - 1) * page.per_page + 1;
  const last = Math.min(page.total, first + page.items.length - 1);
  return (
    <Group justify="space-between" mt="md" wrap="wrap" gap="xs">
      <Text size="sm" c="dimmed" data-testid="range">
        {t('list.range', { first: formatNumber(first, 0), last: formatNumber(last, 0), total: formatNumber(page.total, 0) })}
      </Text>
      {pages > 1 && onPage && <Pagination total={pages} value={page.page} onChange={onPage} size="sm" siblings={1} boundaries={1} />}
    </Group>
  );
}

export function DataList<T>(props: Props<T>) {
  const { columns, page, loading, error, onRetry, rowKey, onRowClick, empty, onPage, cardTitle, testId } = props;
  const phone = useMediaQuery('(max-width: 48em)');

  let body: ReactNode;
  if (error && !page) {
    body = <ErrorState error={error} onRetry={onRetry} />;
  } else if (loading && !page) {
    body = <LoadingState />;
  } else if (!page || page.items.length === 0) {
    body = <EmptyState {...empty} />;
  } else if (phone) {
    const [head, ...rest] = columns;
    body = (
      <Stack gap="sm">
        {page.items.map((row) => (
          <Card
            key={rowKey(row)}
            withBorder
            radius="md"
            padding="sm"
            data-testid="row"
            onClick={onRowClick ? () => onRowClick(row) : undefined}
            style={onRowClick ? { cursor: 'pointer' } : undefined}
          >
            <Text fw={600} mb={4}>
              {cardTitle ? cardTitle(row) : head?.render(row)}
            </Text>
            <Stack gap={4}>
              {rest
                .filter((c) => !c.wide)
                .map((c) => (
                  <Group key={c.key} justify="space-between" wrap="nowrap" gap="xs">
                    <Text size="xs" c="dimmed">
                      {c.label}
                    </Text>
                    <div style={{ textAlign: 'right', minWidth: 0 }}>{c.render(row)}</div>
                  </Group>
                ))}
            </Stack>
          </Card>
        ))}
      </Stack>
    );
  } else {
    body = (
      <Table.ScrollContainer minWidth={640}>
        <Table striped highlightOnHover={!!onRowClick} verticalSpacing="sm">
          <Table.Thead>
            <Table.Tr>
              {columns.map((c) => (
                <Table.Th key={c.key} style={{ textAlign: c.align ?? 'left', width: c.width }}>
                  {c.label}
                </Table.Th>
              ))}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {page.items.map((row) => (
              <Table.Tr
                key={rowKey(row)}
                data-testid="row"
                onClick={onRowClick ? () => onRowClick(row) : undefined}
                style={onRowClick ? { cursor: 'pointer' } : undefined}
              >
                {columns.map((c) => (
                  <Table.Td key={c.key} style={{ textAlign: c.align ?? 'left' }}>
                    {c.render(row)}
                  </Table.Td>
                ))}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    );
  }

  return (
    <Paper withBorder radius="md" p={phone ? 'xs' : 'md'} data-testid={testId}>
      {error && page && <ErrorState error={error} onRetry={onRetry} />}
      {body}
      {page && page.total > 0 && <PageFooter page={page} onPage={onPage} />}
    </Paper>
  );
}
