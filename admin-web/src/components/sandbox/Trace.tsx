// The sandbox's trace: every call between WhatsApp, b24wa and Bitrix24, newest first, the new
// ones highlighted for a moment.

import { Badge, Box, Group, Paper, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { IconArrowRight } from '@tabler/icons-react';
import { clockTime, hopLabel, traceKey, type TraceEntry } from '../../lib/sandbox';

/** The height of the sandbox's panes (the phone, the console, the trace). */
export const PANE_HEIGHT = 'min(560px, 62vh)';

export function Trace({ entries, fresh }: { entries: TraceEntry[]; fresh: Set<string> }) {
  return (
    <Paper withBorder radius="lg" shadow="sm" p="md" h="100%" data-testid="trace">
      <Title order={4}>What just happened</Title>
      <Text size="xs" c="dimmed" mb="sm">
        Every call between WhatsApp, b24wa and Bitrix24, newest first.
      </Text>
      {entries.length === 0 ? (
        <Text size="sm" c="dimmed">
          Nothing yet: send a message from the phone.
        </Text>
      ) : (
        <ScrollArea.Autosize mah={PANE_HEIGHT} offsetScrollbars>
          <Stack gap={10}>
            {entries.map((t) => {
              const hop = hopLabel(t.hop);
              const isNew = fresh.has(traceKey(t));
              return (
                <Box
                  key={traceKey(t)}
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
                      {clockTime(t.at_ms)}
                    </Text>
                  </Group>
                  <Text size="xs" mt={2}>
                    {t.text}{' '}
                    <Text span size="xs" c={t.status === 200 ? 'dimmed' : 'red'}>
                      · {t.status || 'no answer'}
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
