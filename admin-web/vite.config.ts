/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The service serves the build under /admin/ (src/http/admin_web.rs); `npm run dev` proxies the
// API to a service on B24WA_DEV_API (default the `make run` address).
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    // Hashed file names under assets/: the service caches them for a year.
    assetsDir: 'assets',
    // The first load is React + Mantine; the usage chart (Recharts) is a lazy chunk of its own.
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: {
      '/api': process.env.B24WA_DEV_API ?? 'http://127.0.0.1:8080',
      // `make sandbox` listens on 8090.
      '/sandbox': process.env.B24WA_DEV_SANDBOX ?? 'http://127.0.0.1:8090',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
  },
});
