// Who sees what: the navigation follows the roles the API enforces (README: Roles).

import type { Role } from '../api/types';

export const ROLE_LABEL: Record<Role, string> = {
  tenant_admin: 'Tenant admin',
  support: 'Support',
  billing: 'Billing',
};

export interface NavItem {
  to: string;
  label: string;
  section: 'Workspace' | 'Support' | 'Billing';
  roles: Role[];
}

export const NAV: NavItem[] = [
  { to: '/portals', label: 'Portals & lines', section: 'Workspace', roles: ['tenant_admin', 'support'] },
  { to: '/numbers', label: 'Numbers', section: 'Workspace', roles: ['tenant_admin', 'support'] },
  { to: '/conversations', label: 'Conversations', section: 'Workspace', roles: ['tenant_admin', 'support'] },
  { to: '/messages', label: 'Message search', section: 'Workspace', roles: ['tenant_admin', 'support'] },
  { to: '/jobs', label: 'Failed jobs', section: 'Workspace', roles: ['tenant_admin', 'support'] },
  { to: '/tenants', label: 'Tenants', section: 'Support', roles: ['support', 'billing'] },
  { to: '/audit', label: 'Audit log', section: 'Support', roles: ['support'] },
  { to: '/usage', label: 'Usage', section: 'Billing', roles: ['tenant_admin', 'support', 'billing'] },
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
