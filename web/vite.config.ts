/**
 * The web console's build: Vite bundles web/src into web/dist, which the server serves at
 * `/`. `npm start` and `npm test` run it first, so nobody runs a build by hand. The
 * download service worker is a second entry at a fixed path, /stream-worker.js: a
 * worker's URL must stay the same from one build to the next.
 */
import { resolve } from 'node:path';
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
    rolldownOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        'stream-worker': resolve(import.meta.dirname, 'src/stream-worker.ts'),
      },
      output: {
        entryFileNames: (chunk) =>
          chunk.name === 'stream-worker' ? 'stream-worker.js' : 'assets/[name]-[hash].js',
      },
    },
  },
});
