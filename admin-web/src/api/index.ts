// The app's one client: the session survives a reload of the tab (sessionStorage), not its close.

import { ApiClient } from './client';
import { endpoints } from './endpoints';

function sessionStore(): Storage | null {
  try {
    return typeof window !== 'undefined' ? window.sessionStorage : null;
  } catch {
    return null;
  }
}

export const client = new ApiClient({ storage: sessionStore() });
export const api = endpoints(client);
export { ApiError } from './client';
