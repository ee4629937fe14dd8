// Routes: the sign-in page, and the signed-in frame with a page per role (README: Roles).

import { Button, Center, Stack, Text, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { createBrowserRouter, Link, Navigate, Outlet, RouterProvider, useLocation, useRouteError } from 'react-router';
import type { Role } from './api/types';
import { useAuth, useMe } from './auth/AuthContext';
import { Layout } from './components/Layout';
import { FullPageLoader } from './components/States';
import { homeFor } from './lib/roles';
import { Audit } from './pages/Audit';
import { ChatMessages } from './pages/ChatMessages';
import { Conversations } from './pages/Conversations';
import { Jobs } from './pages/Jobs';
import { Login } from './pages/Login';
import { MessageSearch } from './pages/MessageSearch';
import { Numbers } from './pages/Numbers';
import { Portals } from './pages/Portals';
import { QrPairing } from './pages/QrPairing';
import { Sandbox } from './pages/Sandbox';
import { Templates } from './pages/Templates';
import { TenantDetail } from './pages/TenantDetail';
import { Tenants } from './pages/Tenants';
import { Trace } from './pages/Trace';
import { Usage } from './pages/Usage';

function RequireAuth() {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'checking') return <FullPageLoader />;
  if (status === 'signed-out') return <Navigate to="/login" replace state={{ from: `${location.pathname}${location.search}` }} />;
  return <Outlet />;
}

function Home() {
  return <Navigate to={homeFor(useMe().role)} replace />;
}

function Message({ title, text }: { title: string; text: string }) {
  const { t } = useTranslation();
  return (
    <Center py={80}>
      <Stack align="center" gap="xs">
        <Title order={2}>{title}</Title>
        <Text c="dimmed">{text}</Text>
        <Button component={Link} to="/" variant="light" mt="sm">
          {t('app.toStart')}
        </Button>
      </Stack>
    </Center>
  );
}

/** A page that crashed: say so plainly and offer a way on (the error is in the console). */
function Crashed() {
  const { t } = useTranslation();
  const error = useRouteError();
  console.error(error);
  return (
    <Center py={80} px="md">
      <Stack align="center" gap="xs" data-testid="crashed">
        <Title order={2}>{t('app.crashed')}</Title>
        <Text c="dimmed" ta="center">
          {error instanceof Error ? error.message : t('app.unexpected')}
        </Text>
        <Button variant="light" mt="sm" onClick={() => window.location.reload()}>
          {t('app.reload')}
        </Button>
      </Stack>
    </Center>
  );
}

function Allow({ roles, children }: { roles: Role[]; children: ReactNode }) {
  const { t } = useTranslation();
  const me = useMe();
  if (!roles.includes(me.role)) return <Message title={t('app.notForRole')} text={t('app.notForRoleText')} />;
  return <>{children}</>;
}

function NotFound() {
  const { t } = useTranslation();
  return <Message title={t('app.notFound')} text={t('app.notFoundText')} />;
}

const OPS: Role[] = ['tenant_admin', 'support'];
const GLOBAL: Role[] = ['support', 'billing'];
const ALL: Role[] = ['tenant_admin', 'support', 'billing'];

const router = createBrowserRouter(
  [
    { path: '/login', element: <Login />, errorElement: <Crashed /> },
    // `b24wa sandbox` only (its API answers nowhere else); no account needed.
    { path: '/sandbox', element: <Sandbox />, errorElement: <Crashed /> },
    {
      element: <RequireAuth />,
      errorElement: <Crashed />,
      children: [
        {
          element: <Layout />,
          children: [
            { index: true, element: <Home /> },
            { path: 'portals', element: <Allow roles={OPS}><Portals /></Allow> },
            { path: 'numbers', element: <Allow roles={OPS}><Numbers /></Allow> },
            { path: 'numbers/:id/qr', element: <Allow roles={OPS}><QrPairing /></Allow> },
            { path: 'numbers/:id/templates', element: <Allow roles={OPS}><Templates /></Allow> },
            { path: 'conversations', element: <Allow roles={OPS}><Conversations /></Allow> },
            { path: 'conversations/:numberId/:waId', element: <Allow roles={OPS}><ChatMessages /></Allow> },
            { path: 'messages', element: <Allow roles={OPS}><MessageSearch /></Allow> },
            { path: 'messages/:id', element: <Allow roles={OPS}><Trace /></Allow> },
            { path: 'jobs', element: <Allow roles={OPS}><Jobs /></Allow> },
            { path: 'tenants', element: <Allow roles={GLOBAL}><Tenants /></Allow> },
            { path: 'tenants/:id', element: <Allow roles={GLOBAL}><TenantDetail /></Allow> },
            { path: 'audit', element: <Allow roles={['support']}><Audit /></Allow> },
            { path: 'usage', element: <Allow roles={ALL}><Usage /></Allow> },
            { path: '*', element: <NotFound /> },
          ].map((r) => ({ ...r, errorElement: <Crashed /> })),
        },
      ],
    },
  ],
  { basename: import.meta.env.BASE_URL.replace(/\/$/, '') },
);

export function App() {
  return <RouterProvider router={router} />;
}
