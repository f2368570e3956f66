import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The kefu server serves dist/ at '/agent' (SPA fallback: any /agent/... path
// without a file extension gets index.html). `npm run dev` proxies the API to
// a local server (KEFU_URL, default http://127.0.0.1:8080).
const target = process.env.KEFU_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/agent/',
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/v1': { target, ws: true, changeOrigin: true },
      '/healthz': { target },
    },
  },
});
