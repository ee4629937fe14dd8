import { Alert, Anchor, Box, Button, Center, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconAlertTriangle, IconInfoCircle } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { LanguageSwitch } from '../components/LanguageSwitch';
import i18n from '../i18n';
import { homeFor } from '../lib/roles';

function loginError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'invalid_credentials') return i18n.t('login.wrong');
    if (e.code === 'rate_limited') return i18n.t('login.rateLimited');
    return e.message;
  }
  return i18n.t('login.failed');
}

export function Login() {
  const { t } = useTranslation();
  const { login, notice, status, me } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from;
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (status === 'signed-in' && me) return <Navigate to={from ?? homeFor(me.role)} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const m = await login(email.trim(), password);
      navigate(from ?? homeFor(m.role), { replace: true });
    } catch (err) {
      setError(loginError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md" style={{ background: 'linear-gradient(160deg, #e6f7f0 0%, #f1f3f5 60%)' }}>
      <Box w="100%" maw={400}>
        <Group justify="flex-end" mb="xs">
          <LanguageSwitch />
        </Group>
        <Stack align="center" gap={6} mb="lg">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} width={48} height={48} alt="" />
          <Title order={2} ta="center">
            {t('login.title')}
          </Title>
          <Text c="dimmed" size="sm">
            {t('login.subtitle')}
          </Text>
        </Stack>
        <Paper withBorder shadow="sm" radius="md" p="xl">
          <form onSubmit={submit} noValidate>
            <Stack>
              {notice && !error && (
                <Alert color="blue" variant="light" icon={<IconInfoCircle />} data-testid="login-notice">
                  {notice === 'expired' ? t('login.expired') : t('login.signedOut')}
                </Alert>
              )}
              {error && (
                <Alert color="red" variant="light" icon={<IconAlertTriangle />} data-testid="login-error">
                  {error}
                </Alert>
              )}
              <TextInput
                label={t('login.email')}
                type="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.currentTarget.value)}
                name="email"
                data-autofocus
              />
              <PasswordInput
                label={t('login.password')}
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.currentTarget.value)}
                name="password"
              />
              <Button type="submit" loading={busy} disabled={!email || !password} fullWidth data-testid="login-submit">
                {t('login.submit')}
              </Button>
            </Stack>
          </form>
        </Paper>
        <Text c="dimmed" size="xs" ta="center" mt="md">
          <Trans i18nKey="login.noAccount" components={{ api: <Anchor href="/api/v1/openapi.json" size="xs" /> }} />
        </Text>
      </Box>
    </Center>
  );
}
