// The app's one client: the session survives a reload of the tab (sessionStorage), not its close;
// it asks in the app's language and words its own errors in it.

import i18n, { currentLanguage } from '../i18n';
import { ApiClient } from './client';
import { endpoints } from './endpoints';

function sessionStore(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.sessionStorage : null;
  } catch {
    return null;
  }
}

export const client = new ApiClient({
  storage: sessionStore(),
  language: currentLanguage,
  messages: {
    sessionExpired: () => i18n.t('login.expired'),
    unreachable: () => i18n.t('api.unreachable'),
    unreachableShort: () => i18n.t('api.unreachableShort'),
    answered: (status) => i18n.t('api.answered', { status }),
  },
});
export const api = endpoints(client);
export { ApiError } from './client';
