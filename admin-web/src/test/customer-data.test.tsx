// Erasing a customer needs their phone typed; exports and the erase call the tenant's routes.

import { MantineProvider } from '@mantine/core';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { api } from '../api';
import { CustomerData } from '../components/CustomerData';

afterEach(() => vi.restoreAllMocks());

function draw(onErased = vi.fn()) {
  render(
    <MantineProvider>
      <CustomerData tenantId={7} waId="79001112233" onErased={onErased} />
    </MantineProvider>,
  );
  return onErased;
}

describe('CustomerData', () => {
  it('erases only once the phone is typed, then says so', async () => {
    const erase = vi.spyOn(api, 'eraseCustomer').mockResolvedValue({ customer: '79001112233', chats: 1, messages: 4, files: 1, inbox_items: 4, jobs: 6 });
    const onErased = draw();
    fireEvent.click(screen.getByTestId('erase-customer'));
    const input = await screen.findByTestId('erase-confirm-input');
    const confirm = screen.getByTestId('erase-confirm') as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    fireEvent.change(input, { target: { value: '+7 900 111-22-34' } });
    expect(confirm.disabled).toBe(true);
    fireEvent.click(confirm);
    expect(erase).not.toHaveBeenCalled();
    fireEvent.change(input, { target: { value: '+7 (900) 111-22-33' } });
    expect(confirm.disabled).toBe(false);
    fireEvent.click(confirm);
    await waitFor(() => expect(onErased).toHaveBeenCalled());
    expect(erase).toHaveBeenCalledWith(7, '79001112233');
  });

  it('exports the conversation as CSV through the tenant route', async () => {
    const csv = vi.spyOn(api, 'exportConversationCsv').mockResolvedValue('"time"\r\n');
    const created = vi.fn(() => 'blob:x');
    Object.assign(URL, { createObjectURL: created, revokeObjectURL: vi.fn() });
    draw();
    fireEvent.click(screen.getByTestId('export-csv'));
    await waitFor(() => expect(created).toHaveBeenCalled());
    expect(csv).toHaveBeenCalledWith(7, '79001112233');
  });
});
