// Who sees what: the navigation follows the roles the API enforces (README: Roles).

import type { Role } from '../api/types';
import i18n from '../i18n';

/** A role as the user reads it. */
export function roleLabel(role: Role): string {
  switch (role) {
    case 'tenant_admin':
      return i18n.t('roles.tenant_admin');
    case 'support':
      return i18n.t('roles.support');
    case 'billing':
      return i18n.t('roles.billing');
  }
}

export type NavSection = 'workspace' | 'support' | 'billing';

export interface NavItem {
  to: string;
  /** The item's words, in the language spoken when drawn. */
  label: () => string;
  section: NavSection;
  roles: Role[];
}

export function sectionLabel(section: NavSection): string {
  switch (section) {
    case 'workspace':
      return i18n.t('nav.workspace');
    case 'support':
      return i18n.t('nav.support');
    case 'billing':
      return i18n.t('nav.billing');
  }
}

export const NAV: NavItem[] = [
  { to: '/portals', label: () => i18n.t('nav.portals'), section: 'workspace', roles: ['tenant_admin', 'support'] },
  { to: '/numbers', label: () => i18n.t('nav.numbers'), section: 'workspace', roles: ['tenant_admin', 'support'] },
  { to: '/conversations', label: () => i18n.t('nav.conversations'), section: 'workspace', roles: ['tenant_admin', 'support'] },
  { to: '/messages', label: () => i18n.t('nav.messages'), section: 'workspace', roles: ['tenant_admin', 'support'] },
  { to: '/jobs', label: () => i18n.t('nav.jobs'), section: 'workspace', roles: ['tenant_admin', 'support'] },
  { to: '/tenants', label: () => i18n.t('nav.tenants'), section: 'support', roles: ['support', 'billing'] },
  { to: '/audit', label: () => i18n.t('nav.audit'), section: 'support', roles: ['support'] },
  { to: '/usage', label: () => i18n.t('nav.usage'), section: 'billing', roles: ['tenant_admin', 'support', 'billing'] },
];

export function navFor(role: Role): NavItem[] {
  return NAV.filter((n) => n.roles.includes(role));
}

/** Where a user lands after signing in. */
export function homeFor(role: Role): string {
  switch (role) {
    case 'tenant_admin':
      return '/numbers';
    case 'support':
      return '/tenants';
    case 'billing':
      return '/usage';
  }
}

/** Support may change anything; a tenant admin its own tenant; billing nothing. */
export function canWrite(role: Role): boolean {
  return role !== 'billing';
}
