import { MantineProvider } from '@mantine/core';
import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Message } from '../api/types';
import { Ticks } from '../components/Ticks';
import { tickInfo } from '../lib/ticks';

type M = Pick<Message, 'direction' | 'status'> & Partial<Message>;

function ticksOf(m: M) {
  render(
    <MantineProvider>
      <Ticks message={m} />
    </MantineProvider>,
  );
  const el = screen.getByTestId('ticks');
  return { kind: el.dataset.kind, ticks: el.dataset.ticks, color: el.dataset.color, label: el.getAttribute('aria-label'), paths: el.querySelectorAll('path').length };
}

describe('ticks', () => {
  it('one grey = sent, two grey = delivered, two blue = read (operator messages)', () => {
    expect(ticksOf({ direction: 'out', status: 'sent' })).toEqual({ kind: 'sent', ticks: '1', color: 'grey', label: 'Sent', paths: 1 });
  });

  it('draws two grey checks for delivered', () => {
    expect(ticksOf({ direction: 'out', status: 'delivered' })).toMatchObject({ ticks: '2', color: 'grey', label: 'Delivered', paths: 2 });
  });

  it('draws two blue checks for read', () => {
    expect(ticksOf({ direction: 'out', status: 'read' })).toMatchObject({ ticks: '2', color: 'blue', label: 'Read', paths: 2 });
  });

  it('shows a clock while queued and a failure with its reason', () => {
    expect(ticksOf({ direction: 'out', status: 'queued' })).toMatchObject({ kind: 'pending', ticks: '0' });
  });

  it('shows a failure with its reason', () => {
    expect(ticksOf({ direction: 'out', status: 'failed', error: '24-hour window closed' })).toMatchObject({
      kind: 'failed',
      color: 'red',
      label: 'Failed: 24-hour window closed',
    });
  });

  it('never goes back: a delivery or read time wins over an older status', () => {
    expect(tickInfo({ direction: 'out', status: 'sent', delivered_at: 5 }).kind).toBe('delivered');
    expect(tickInfo({ direction: 'out', status: 'delivered', read_at: 9 }).kind).toBe('read');
  });

  it("a customer's message: stored = one grey, in Open Lines = two grey, answered = two blue", () => {
    expect(tickInfo({ direction: 'in', status: 'received' })).toMatchObject({ ticks: 1, color: 'grey', label: 'Received by b24wa' });
    expect(tickInfo({ direction: 'in', status: 'forwarded' })).toMatchObject({ ticks: 2, color: 'grey', label: 'Delivered to Open Lines' });
    expect(tickInfo({ direction: 'in', status: 'forwarded', read_at: 1 })).toMatchObject({ ticks: 2, color: 'blue', label: 'Read by an operator' });
    expect(tickInfo({ direction: 'in', status: 'failed' })).toMatchObject({ kind: 'failed', color: 'red' });
    expect(tickInfo({ direction: 'in', status: 'deleted' }).kind).toBe('deleted');
  });
});
