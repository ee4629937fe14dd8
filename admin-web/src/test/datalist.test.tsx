import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../api/client';
import type { Page } from '../api/types';
import { DataList, type Column } from '../components/DataList';

interface Row {
  id: number;
  name: string;
}

const columns: Column<Row>[] = [{ key: 'name', label: 'Name', render: (r) => r.name }];

function list(props: { page?: Page<Row>; loading?: boolean; error?: ApiError | null; onRetry?: () => void; onPage?: (p: number) => void }) {
  return render(
    <MantineProvider>
      <DataList
        columns={columns}
        page={props.page}
        loading={props.loading ?? false}
        error={props.error ?? null}
        onRetry={props.onRetry}
        onPage={props.onPage}
        rowKey={(r) => r.id}
        empty={{ title: 'Nothing here yet' }}
      />
    </MantineProvider>,
  );
}

describe('DataList', () => {
  it('shows a loader until the first page arrives', () => {
    list({ loading: true });
    expect(screen.getByTestId('loading')).toBeTruthy();
    expect(screen.queryByTestId('row')).toBeNull();
  });

  it('shows the empty state for an empty page', () => {
    list({ page: { items: [], page: 1, per_page: 25, total: 0 } });
    expect(screen.getByTestId('empty').textContent).toContain('Nothing here yet');
  });

  it('shows the error with a retry', () => {
    const retry = vi.fn();
    list({ error: new ApiError(403, 'forbidden', 'this needs the support role'), onRetry: retry });
    const err = screen.getByTestId('error');
    expect(err.textContent).toContain('Not allowed');
    expect(err.textContent).toContain('this needs the support role');
    fireEvent.click(screen.getByText('Try again'));
    expect(retry).toHaveBeenCalledOnce();
  });

  it('pages: the range shown and a click asks for another page', () => {
    const onPage = vi.fn();
    const items = Array.from({ length: 25 }, (_, i) => ({ id: 26 + i, name: `row ${26 + i}` }));
    list({ page: { items, page: 2, per_page: 25, total: 120 }, onPage });
    expect(screen.getAllByTestId('row')).toHaveLength(25);
    expect(screen.getByTestId('range').textContent).toBe('26–50 of 120');
    fireEvent.click(screen.getByRole('button', { name: '3' }));
    expect(onPage).toHaveBeenCalledWith(3);
  });

  it('keeps the rows when a refresh fails, and says so', () => {
    list({ page: { items: [{ id: 1, name: 'kept' }], page: 1, per_page: 25, total: 1 }, error: new ApiError(0, 'network', 'The service cannot be reached.') });
    expect(screen.getByTestId('row').textContent).toContain('kept');
    expect(screen.getByTestId('error').textContent).toContain('cannot be reached');
  });
});
