// Linking a gateway number's phone: the gateway's QR, refreshed until the phone is linked.

import { Alert, Anchor, Badge, Box, Button, Center, Grid, Group, Image, List, Loader, Paper, Stack, Text, ThemeIcon, Title } from '@mantine/core';
import { IconArrowLeft, IconCircleCheck, IconDeviceMobile, IconRefresh } from '@tabler/icons-react';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { sessionLabel } from '../components/Badges';
import { ErrorState } from '../components/States';
import { useApi } from '../lib/useApi';

/** The gateway rotates its QR about every 20 s; poll well inside that. */
const POLL_MS = 3000;

export function QrPairing() {
  const { t } = useTranslation();
  const id = Number(useParams().id);
  const [linked, setLinked] = useState(false);
  // Polls only until the phone is linked.
  const qr = useApi((signal) => api.qr(id, signal), [id], { pollMs: linked ? undefined : POLL_MS });
  useEffect(() => {
    if (qr.data?.state === 'authorized') setLinked(true);
  }, [qr.data]);
  const number = useApi((signal) => api.numbers({ per_page: 200 }, signal).then((p) => p.items.find((n) => n.id === id) ?? null), [id, linked]);

  return (
    <Stack>
      <Group>
        <Anchor component={Link} to="/numbers" size="sm">
          <Group gap={4}>
            <IconArrowLeft size={14} /> {t('nav.numbers')}
          </Group>
        </Anchor>
      </Group>
      <Title order={2} data-testid="page-title">
        {t('qr.title')}
      </Title>
      <Grid gap="lg">
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Paper withBorder radius="md" p="lg" h="100%">
            <Stack gap="sm">
              <Group gap="xs">
                <ThemeIcon variant="light" radius="xl">
                  <IconDeviceMobile size={18} />
                </ThemeIcon>
                <Text fw={600}>{number.data?.display_phone ? `+${number.data.display_phone}` : t('qr.number', { id })}</Text>
                {qr.data && (
                  <Badge color={linked ? 'green' : 'yellow'} variant="light" data-testid="qr-state" data-state={qr.data.state}>
                    {sessionLabel(qr.data.state)}
                  </Badge>
                )}
              </Group>
              <List type="ordered" size="sm" spacing={6}>
                <List.Item>{t('qr.step1')}</List.Item>
                <List.Item>{t('qr.step2')}</List.Item>
                <List.Item>{t('qr.step3')}</List.Item>
              </List>
              <Text size="xs" c="dimmed">
                {t('qr.hint')}
              </Text>
            </Stack>
          </Paper>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 6 }}>
          <Paper withBorder radius="md" p="lg" h="100%">
            <Center mih={300}>
              {qr.error && !qr.data ? (
                <ErrorState error={qr.error} onRetry={qr.reload} />
              ) : !qr.data ? (
                <Loader />
              ) : linked ? (
                <Stack align="center" gap="xs" data-testid="qr-linked">
                  <ThemeIcon color="green" size={72} radius="xl" variant="light">
                    <IconCircleCheck size={44} />
                  </ThemeIcon>
                  <Title order={3}>{t('qr.linked')}</Title>
                  <Text c="dimmed" size="sm" ta="center">
                    {t('qr.linkedText')}
                  </Text>
                  <Button component={Link} to="/numbers" mt="sm">
                    {t('qr.back')}
                  </Button>
                </Stack>
              ) : qr.data.qr ? (
                <Stack align="center" gap="xs">
                  <Box p="sm" bg="white" style={{ borderRadius: 12, boxShadow: '0 0 0 1px var(--mantine-color-gray-3)' }}>
                    <Image src={qr.data.qr} alt={t('qr.alt')} w={264} h={264} fit="contain" data-testid="qr-image" style={{ imageRendering: 'pixelated' }} />
                  </Box>
                  <Group gap={6}>
                    <Loader size="xs" />
                    <Text size="xs" c="dimmed">
                      {t('qr.waiting')}
                    </Text>
                  </Group>
                </Stack>
              ) : (
                <Stack align="center">
                  <Alert color="yellow" title={t('qr.none')} data-testid="qr-message">
                    {qr.data.message ?? t('qr.gatewayReports', { state: sessionLabel(qr.data.state) })}
                  </Alert>
                  <Button variant="light" leftSection={<IconRefresh size={16} />} onClick={qr.reload}>
                    {t('qr.again')}
                  </Button>
                </Stack>
              )}
            </Center>
            {qr.error && qr.data && !linked && <ErrorState error={qr.error} onRetry={qr.reload} />}
          </Paper>
        </Grid.Col>
      </Grid>
    </Stack>
  );
}
