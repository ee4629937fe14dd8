import { Alert, Anchor, Box, Button, Center, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconAlertTriangle, IconInfoCircle } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import { ApiError } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { homeFor } from '../lib/roles';

function loginError(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.code === 'invalid_credentials') return 'Wrong email or password.';
    if (e.code === 'rate_limited') return 'Too many failed attempts. Wait a few minutes and try again.';
    return e.message;
  }
  return 'Sign-in failed. Try again.';
}

export function Login() {
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
        <Stack align="center" gap={6} mb="lg">
          <img src={`${import.meta.env.BASE_URL}favicon.svg`} width={48} height={48} alt="" />
          <Title order={2}>b24wa admin</Title>
          <Text c="dimmed" size="sm">
            WhatsApp ↔ Bitrix24 Open Lines
          </Text>
        </Stack>
        <Paper withBorder shadow="sm" radius="md" p="xl">
          <form onSubmit={submit} noValidate>
            <Stack>
              {notice && !error && (
                <Alert color="blue" variant="light" icon={<IconInfoCircle />} data-testid="login-notice">
                  {notice}
                </Alert>
              )}
              {error && (
                <Alert color="red" variant="light" icon={<IconAlertTriangle />} data-testid="login-error">
                  {error}
                </Alert>
              )}
              <TextInput
                label="Email"
                type="email"
                autoComplete="username"
                required
                value={email}
                onChange={(e) => setEmail(e.currentTarget.value)}
                name="email"
                data-autofocus
              />
              <PasswordInput
                label="Password"
                autoComplete="current-password"
                required
                value={password}
                onChange={(e) => setPassword(e.currentTarget.value)}
                name="password"
              />
              <Button type="submit" loading={busy} disabled={!email || !password} fullWidth data-testid="login-submit">
                Sign in
              </Button>
            </Stack>
          </form>
        </Paper>
        <Text c="dimmed" size="xs" ta="center" mt="md">
          No account? Ask your provider's support team, or see <Anchor href="/api/v1/openapi.json" size="xs">the API</Anchor>.
        </Text>
      </Box>
    </Center>
  );
}
