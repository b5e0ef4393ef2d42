import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    rolldownOptions: {
      // Two pages: the app, and the recording compositor the server opens in a headless browser.
      input: {
        main: fileURLToPath(new URL('index.html', import.meta.url)),
        recorder: fileURLToPath(new URL('recorder.html', import.meta.url)),
      },
    },
  },
  server: {
    // `npm run dev:client` proxies signalling to a server started with `npm start`.
    proxy: { '/socket.io': { target: 'http://localhost:3000', ws: true } },
  },
});
