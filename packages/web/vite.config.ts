// Vite builds the dashboard into dist/, which the backend serves at `/`
// (packages/backend/src/http/routes/spa.ts). `npx vite` in this folder runs the
// dev server with /api and /metrics proxied to a running backend
// (KANADE_BACKEND_URL, default http://127.0.0.1:8080), so the SPA always talks
// to the real API.
import tailwind from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const backend = process.env.KANADE_BACKEND_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwind()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  server: { proxy: { '/api': backend, '/metrics': backend } },
});
