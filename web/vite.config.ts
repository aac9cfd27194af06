/**
 * The web console's build: Vite bundles web/src into web/dist, which the server serves at
 * `/`. `npm start` and `npm test` run it first, so nobody runs a build by hand.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The console is served by the same server it talks to, offline included: one origin, no CDN.
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
