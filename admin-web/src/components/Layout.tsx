// The signed-in frame: a header with the user and sign-out, navigation by role (a drawer on a
// phone), and the page.

import { AppShell, Avatar, Badge, Burger, Group, Menu, NavLink, ScrollArea, Stack, Text, Title, UnstyledButton } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import {
  IconAlertOctagon,
  IconBuildingSkyscraper,
  IconBuildingStore,
  IconChartBar,
  IconChevronDown,
  IconDeviceMobile,
  IconListDetails,
  IconLogout,
  IconMessages,
  IconSearch,
} from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { NavLink as RouterLink, Outlet, useLocation } from 'react-router';
import { useAuth, useMe } from '../auth/AuthContext';
import { navFor, roleLabel, sectionLabel, type NavItem } from '../lib/roles';
import { LanguageSwitch } from './LanguageSwitch';
import { TenantQuotaBanner } from './PlanUsage';
import { RelinkBanner } from './RelinkBanner';

const ICONS: Record<string, ReactNode> = {
  '/portals': <IconBuildingStore size={18} />,
  '/numbers': <IconDeviceMobile size={18} />,
  '/conversations': <IconMessages size={18} />,
  '/messages': <IconSearch size={18} />,
  '/jobs': <IconAlertOctagon size={18} />,
  '/tenants': <IconBuildingSkyscraper size={18} />,
  '/audit': <IconListDetails size={18} />,
  '/usage': <IconChartBar size={18} />,
};

function Brand() {
  return (
    <Group gap={8} wrap="nowrap">
      <img src={`${import.meta.env.BASE_URL}favicon.svg`} width={28} height={28} alt="" />
      <Title order={4} style={{ whiteSpace: 'nowrap' }}>
        b24wa
      </Title>
      <Text c="dimmed" size="sm" visibleFrom="xs">
        WhatsApp ↔ Bitrix24
      </Text>
    </Group>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure();
  const me = useMe();
  const { logout } = useAuth();
  const location = useLocation();
  const items = navFor(me.role);
  const sections = [...new Set(items.map((i) => i.section))];
  const who = me.user?.email ?? me.sub;

  const link = (item: NavItem) => (
    <NavLink
      key={item.to}
      component={RouterLink}
      to={item.to}
      label={item.label()}
      leftSection={ICONS[item.to]}
      active={location.pathname === item.to || location.pathname.startsWith(`${item.to}/`)}
      onClick={close}
      data-testid={`nav-${item.to.slice(1)}`}
      style={{ borderRadius: 8 }}
    />
  );

  return (
    <AppShell header={{ height: 60 }} navbar={{ width: 240, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t('layout.menu')} data-testid="burger" />
            <Brand />
          </Group>
          <Group gap="xs" wrap="nowrap">
          <LanguageSwitch />
          <Menu position="bottom-end" width={240} shadow="md">
            <Menu.Target>
              <UnstyledButton data-testid="user-menu" aria-label={t('layout.account')}>
                <Group gap={8} wrap="nowrap">
                  <Avatar color="teal" radius="xl" size={32}>
                    {who.slice(0, 1).toUpperCase()}
                  </Avatar>
                  <Stack gap={0} visibleFrom="sm">
                    <Text size="sm" fw={500} lh={1.2}>
                      {who}
                    </Text>
                    <Text size="xs" c="dimmed" lh={1.2} data-testid="role">
                      {roleLabel(me.role)}
                      {me.tenant !== null ? ` · ${t('layout.tenant', { id: me.tenant })}` : ''}
                    </Text>
                  </Stack>
                  <IconChevronDown size={14} />
                </Group>
              </UnstyledButton>
            </Menu.Target>
            <Menu.Dropdown>
              <Menu.Label>{who}</Menu.Label>
              <Menu.Item disabled>
                <Badge variant="light">{roleLabel(me.role)}</Badge>
              </Menu.Item>
              <Menu.Divider />
              <Menu.Item leftSection={<IconLogout size={16} />} color="red" onClick={logout} data-testid="logout">
                {t('layout.signOut')}
              </Menu.Item>
            </Menu.Dropdown>
          </Menu>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="sm">
        <AppShell.Section grow component={ScrollArea}>
          {sections.map((s) => (
            <Stack key={s} gap={2} mb="md">
              <Text size="xs" fw={700} c="dimmed" tt="uppercase" px="sm" mb={4}>
                {sectionLabel(s)}
              </Text>
              {items.filter((i) => i.section === s).map(link)}
            </Stack>
          ))}
        </AppShell.Section>
      </AppShell.Navbar>
      <AppShell.Main bg="var(--mantine-color-gray-0)">
        <div style={{ maxWidth: 1200, margin: '0 auto' }}>
          <TenantQuotaBanner />
          <RelinkBanner />
          <Outlet />
        </div>
      </AppShell.Main>
    </AppShell>
  );
}

export function PageHeader({ title, description, actions }: { title: ReactNode; description?: ReactNode; actions?: ReactNode }) {
  return (
    <Group justify="space-between" align="flex-end" mb="lg" wrap="wrap" gap="sm">
      <div style={{ minWidth: 0 }}>
        <Title order={2} data-testid="page-title">
          {title}
        </Title>
        {description && (
          <Text c="dimmed" size="sm" mt={4}>
            {description}
          </Text>
        )}
      </div>
      {actions && <Group gap="xs">{actions}</Group>}
    </Group>
  );
}
