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
  },
  server: {
    // `npm run dev:client` proxies signalling to a server started with `npm start`.
    proxy: { '/socket.io': { target: 'http://localhost:3000', ws: true } },
  },
});
