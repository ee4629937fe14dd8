// The relink banner: Web-gateway numbers whose phone is logged out are named on every page,
// each with a link to its QR, in English and Russian; healthy, Cloud API and switched-off
// numbers are not.

import { MantineProvider } from '@mantine/core';
import { act, render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { afterEach, describe, expect, it } from 'vitest';
import type { NumberView } from '../api/types';
import { RelinkAlert } from '../components/RelinkBanner';
import i18n from '../i18n';
import { numbersToRelink } from '../lib/relink';

afterEach(async () => {
  await act(() => i18n.changeLanguage('en'));
});

function number(id: number, over: Partial<NumberView> = {}): NumberView {
  return {
    id,
    portal_id: 1,
    line: String(id),
    transport: 'gateway',
    phone_number_id: `gw${id}`,
    display_phone: `7999000000${id}`,
    active: true,
    session_state: 'notAuthorized',
    session_changed_at: null,
    ...over,
  };
}

const list = [
  number(3),
  number(1, { session_state: 'authorized' }),
  number(2, { transport: 'cloud', session_state: 'token_invalid' }),
  number(4, { active: false }),
  // A number on Evolution API logged out reads the same (`notAuthorized`).
  number(10, { phone_number_id: 'evo0123456789abcdef' }),
];

describe('numbers to relink', () => {
  it('are the active Web-gateway numbers whose phone is not linked, by line', () => {
    expect(numbersToRelink(list).map((n) => n.id)).toEqual([3, 10]);
    expect(numbersToRelink([number(1, { session_state: 'authorized' })])).toEqual([]);
  });
});

describe('the relink banner', () => {
  it('names each number with a link to its QR, in both languages', async () => {
    render(
      <MantineProvider>
        <MemoryRouter>
          <RelinkAlert numbers={list} />
        </MemoryRouter>
      </MantineProvider>,
    );
    const banner = screen.getByTestId('relink-banner');
    expect(banner.textContent).toContain('WhatsApp numbers whose phone is not linked: 2');
    const items = screen.getAllByTestId('relink-number');
    expect(items.map((i) => i.getAttribute('data-id'))).toEqual(['3', '10']);
    expect(items[0]?.textContent).toContain('Open Line 3');
    const links = screen.getAllByTestId('relink-qr');
    expect(links.map((a) => a.getAttribute('href'))).toEqual(['/numbers/3/qr', '/numbers/10/qr']);
    expect(links[0]?.textContent).toBe('Show the QR');
    await act(() => i18n.changeLanguage('ru'));
    expect(screen.getByTestId('relink-banner').textContent).toContain('Номера WhatsApp без привязанного телефона: 2');
    expect(screen.getAllByTestId('relink-qr')[0]?.textContent).toBe('Показать QR-код');
    expect(screen.getAllByTestId('relink-number')[1]?.textContent).toContain('Открытая линия 10');
  });

  it('counts the numbers beyond those it names', () => {
    const many = Array.from({ length: 12 }, (_, i) => number(i + 1));
    render(
      <MantineProvider>
        <MemoryRouter>
          <RelinkAlert numbers={many} total={30} />
        </MemoryRouter>
      </MantineProvider>,
    );
    expect(screen.getAllByTestId('relink-number')).toHaveLength(10);
    expect(screen.getByTestId('relink-banner').textContent).toContain('and 20 more on the Numbers page');
  });

  it('is not shown when every phone is linked', () => {
    const { container } = render(
      <MantineProvider>
        <MemoryRouter>
          <RelinkAlert numbers={[number(1, { session_state: 'authorized' })]} />
        </MemoryRouter>
      </MantineProvider>,
    );
    expect(container.querySelector('[data-testid="relink-banner"]')).toBeNull();
  });
});
