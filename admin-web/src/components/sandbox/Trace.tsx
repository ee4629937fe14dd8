// The sandbox's trace: every call between WhatsApp, b24wa and Bitrix24, newest first, the new
// ones highlighted for a moment.

import { Badge, Box, Group, Paper, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { IconArrowRight } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { clockTime, hopLabel, traceKey, type TraceEntry } from '../../lib/sandbox';

/** The height of the sandbox's panes (the phone, the console, the trace). */
export const PANE_HEIGHT = 'min(560px, 62vh)';

export function Trace({ entries, fresh }: { entries: TraceEntry[]; fresh: Set<string> }) {
  const { t } = useTranslation();
  return (
    <Paper withBorder radius="lg" shadow="sm" p="md" h="100%" data-testid="trace">
      <Title order={4}>{t('sandbox.trace.title')}</Title>
      <Text size="xs" c="dimmed" mb="sm">
        {t('sandbox.trace.hint')}
      </Text>
      {entries.length === 0 ? (
        <Text size="sm" c="dimmed">
          {t('sandbox.trace.empty')}
        </Text>
      ) : (
        <ScrollArea.Autosize mah={PANE_HEIGHT} offsetScrollbars>
          <Stack gap={10}>
            {entries.map((e) => {
              const hop = hopLabel(e.hop);
              const isNew = fresh.has(traceKey(e));
              return (
                <Box
                  key={traceKey(e)}
                  pl="sm"
                  data-testid="trace-entry"
                  style={{
                    borderLeft: `3px solid var(--mantine-color-${hop.color}-5)`,
                    background: isNew ? 'var(--mantine-color-yellow-0)' : undefined,
                    transition: 'background 600ms',
                  }}
                >
                  <Group gap={6} wrap="nowrap" justify="space-between">
                    <Group gap={4} wrap="nowrap">
                      <Badge size="xs" variant="light" color={hop.color}>
                        {hop.from}
                      </Badge>
                      <IconArrowRight size={11} />
                      <Badge size="xs" variant="light" color={hop.color}>
                        {hop.to}
                      </Badge>
                    </Group>
                    <Text size="xs" c="dimmed" ff="monospace">
                      {clockTime(e.at_ms)}
                    </Text>
                  </Group>
                  <Text size="xs" mt={2}>
                    {e.text}{' '}
                    <Text span size="xs" c={e.status === 200 ? 'dimmed' : 'red'}>
                      · {e.status || t('sandbox.trace.noAnswer')}
                    </Text>
                  </Text>
                </Box>
              );
            })}
          </Stack>
        </ScrollArea.Autosize>
      )}
    </Paper>
  );
}
