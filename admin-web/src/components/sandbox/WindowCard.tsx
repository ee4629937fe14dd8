// The sandbox's Cloud API number: its chat's 24-hour window, the control that ages it, and the
// account's templates with a button that types the operator's /template command.

import { Badge, Button, Code, Grid, Group, Paper, Stack, Text, ThemeIcon, Tooltip } from '@mantine/core';
import { IconClockHour4, IconTemplate } from '@tabler/icons-react';
import { sandboxApi, windowLabel, type SandboxState } from '../../lib/sandbox';

/** The Cloud API chat's 24-hour window, the control that ages it, and the account's templates. */
export function WindowCard({
  state,
  busy,
  run,
  onTemplate,
}: {
  state: SandboxState;
  busy: string | null;
  run: (name: string, action: () => Promise<unknown>) => Promise<boolean>;
  onTemplate: (command: string) => void;
}) {
  const w = state.window;
  const now = Date.now();
  const open = w?.state === 'open';
  const hasChat = w !== null && w.state !== 'none';
  return (
    <Paper withBorder radius="lg" p="md" shadow="xs" data-testid="window-card">
      <Grid gap="md" align="center">
        <Grid.Col span={{ base: 12, md: 5 }}>
          <Group gap="sm" wrap="nowrap" align="flex-start">
            <ThemeIcon size={38} radius="md" variant="light" color={open ? 'green' : hasChat ? 'red' : 'gray'}>
              <IconClockHour4 size={22} />
            </ThemeIcon>
            <div>
              <Group gap={8}>
                <Text fw={600}>24-hour window</Text>
                <Badge color={open ? 'green' : hasChat ? 'red' : 'gray'} variant="light" data-testid="window-state" data-state={w?.state ?? 'none'}>
                  {open ? 'Open' : hasChat ? 'Closed' : 'Not started'}
                </Badge>
              </Group>
              <Text size="sm" data-testid="window-label">
                {windowLabel(w, now)}
              </Text>
              <Text size="xs" c="dimmed">
                {open ? 'Free text goes to the customer.' : hasChat ? 'Only an approved template goes; free text is held back with a notice.' : 'It opens when the customer writes.'}
              </Text>
            </div>
          </Group>
          <Tooltip label="The sandbox cannot wait a day: this moves the customer's last message back 25 hours in b24wa and in the simulated WhatsApp" multiline w={300} disabled={!hasChat}>
            <Button
              mt="sm"
              variant="light"
              color="orange"
              leftSection={<IconClockHour4 size={16} />}
              disabled={!hasChat || !open}
              loading={busy === 'age'}
              onClick={() => void run('age', sandboxApi.ageWindow)}
              data-testid="age-window"
            >
              Make the customer's last message 25 hours old
            </Button>
          </Tooltip>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Text fw={600} size="sm">
            Templates of this WhatsApp account
          </Text>
          <Text size="xs" c="dimmed" mb={6}>
            Synced by b24wa. The operator sends one by typing <Code>/template name value | value</Code> in the chat.
          </Text>
          <Stack gap={6}>
            {state.templates.map((t) => (
              <Group key={`${t.name}-${t.language}`} gap="xs" wrap="nowrap" justify="space-between" data-testid="sandbox-template">
                <div style={{ minWidth: 0 }}>
                  <Group gap={6} wrap="nowrap">
                    <Code>{t.name}</Code>
                    <Badge size="xs" variant="light" color={t.status === 'APPROVED' ? 'green' : t.status === 'PENDING' ? 'yellow' : 'gray'}>
                      {t.status.toLowerCase()}
                    </Badge>
                  </Group>
                  <Text size="xs" c="dimmed" truncate>
                    {t.body}
                  </Text>
                </div>
                <Tooltip label={t.status === 'APPROVED' ? `Put “${t.command}” in the operator's reply` : 'Not approved yet: WhatsApp would refuse it'}>
                  <Button
                    size="compact-xs"
                    variant="default"
                    leftSection={<IconTemplate size={12} />}
                    disabled={!hasChat}
                    onClick={() => onTemplate(t.command)}
                    data-testid="use-template"
                    data-name={t.name}
                  >
                    Type it
                  </Button>
                </Tooltip>
              </Group>
            ))}
          </Stack>
        </Grid.Col>
      </Grid>
    </Paper>
  );
}

