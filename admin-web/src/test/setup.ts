import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import i18n from '../i18n';

afterEach(() => cleanup());

// Mantine reads these; happy-dom lacks them.
if (!window.matchMedia) {
  window.matchMedia = (query: string) =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => {},
      removeListener: () => {},
      addEventListener: () => {},
      removeEventListener: () => {},
      dispatchEvent: () => false,
    }) as unknown as MediaQueryList;
}
class RO {
  observe() {}
  unobserve() {}
  disconnect() {}
}
(globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver ??= RO;

// The tests read English with British dates, as the e2e browser does (en-GB); a test that needs
// Russian switches and switches back (test/i18n.test.ts).
Object.defineProperty(window.navigator, 'languages', { value: ['en-GB', 'en'], configurable: true });
void i18n.changeLanguage('en');
