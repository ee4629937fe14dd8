// The sandbox's Cloud API number: its chat's 24-hour window, the control that ages it, and the
// account's templates with a button that types the operator's /template command.

import { Badge, Button, Code, Grid, Group, Paper, Stack, Text, ThemeIcon, Tooltip } from '@mantine/core';
import { IconClockHour4, IconTemplate } from '@tabler/icons-react';
import { Trans, useTranslation } from 'react-i18next';
import { sandboxApi, windowLabel, type SandboxState } from '../../lib/sandbox';
import { templateStatus } from '../../lib/templates';

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
  const { t } = useTranslation();
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
                <Text fw={600}>{t('sandbox.window.title')}</Text>
                <Badge color={open ? 'green' : hasChat ? 'red' : 'gray'} variant="light" data-testid="window-state" data-state={w?.state ?? 'none'}>
                  {open ? t('sandbox.window.open') : hasChat ? t('sandbox.window.closed') : t('sandbox.window.notStarted')}
                </Badge>
              </Group>
              <Text size="sm" data-testid="window-label">
                {windowLabel(w, now)}
              </Text>
              <Text size="xs" c="dimmed">
                {open ? t('sandbox.window.openHint') : hasChat ? t('sandbox.window.closedHint') : t('sandbox.window.noneHint')}
              </Text>
            </div>
          </Group>
          <Tooltip label={t('sandbox.window.ageHint')} multiline w={300} disabled={!hasChat}>
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
              {t('sandbox.window.age')}
            </Button>
          </Tooltip>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 7 }}>
          <Text fw={600} size="sm">
            {t('sandbox.templates.title')}
          </Text>
          <Text size="xs" c="dimmed" mb={6}>
            <Trans i18nKey="sandbox.templates.hint" components={{ code: <Code /> }} />
          </Text>
          <Stack gap={6}>
            {state.templates.map((tpl) => (
              <Group key={`${tpl.name}-${tpl.language}`} gap="xs" wrap="nowrap" justify="space-between" data-testid="sandbox-template">
                <div style={{ minWidth: 0 }}>
                  <Group gap={6} wrap="nowrap">
                    <Code>{tpl.name}</Code>
                    <Badge size="xs" variant="light" color={tpl.status === 'APPROVED' ? 'green' : tpl.status === 'PENDING' ? 'yellow' : 'gray'}>
                      {templateStatus(tpl.status)}
                    </Badge>
                  </Group>
                  <Text size="xs" c="dimmed" truncate>
                    {tpl.body}
                  </Text>
                </div>
                <Tooltip label={tpl.status === 'APPROVED' ? t('sandbox.templates.typeHint', { command: tpl.command }) : t('sandbox.templates.notApproved')}>
                  <Button
                    size="compact-xs"
                    variant="default"
                    leftSection={<IconTemplate size={12} />}
                    disabled={!hasChat}
                    onClick={() => onTemplate(tpl.command)}
                    data-testid="use-template"
                    data-name={tpl.name}
                  >
                    {t('sandbox.templates.type')}
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

