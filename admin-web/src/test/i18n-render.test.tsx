// A page drawn in one language is drawn again in the other when the user switches: nothing
// needs a reload.

import { MantineProvider } from '@mantine/core';
import { act, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { PageFooter } from '../components/DataList';
import { Ticks } from '../components/Ticks';
import i18n from '../i18n';

afterEach(async () => {
  await act(() => i18n.changeLanguage('en'));
});

describe('switching the language', () => {
  it('draws the page again in the new language', async () => {
    render(
      <MantineProvider>
        <PageFooter page={{ items: [1, 2], page: 2, per_page: 2, total: 1234 }} />
        <Ticks message={{ direction: 'out', status: 'read' }} />
      </MantineProvider>,
    );
    expect(screen.getByTestId('range').textContent).toBe('3–4 of 1,234');
    expect(screen.getByTestId('ticks').getAttribute('aria-label')).toBe('Read');
    await act(() => i18n.changeLanguage('ru'));
    expect(screen.getByTestId('range').textContent).toBe('3–4 из 1\u00a0234');
    expect(screen.getByTestId('ticks').getAttribute('aria-label')).toBe('Прочитано');
  });
});
