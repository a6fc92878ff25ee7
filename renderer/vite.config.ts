// Builds the wizard's renderer into dist/renderer. base './' so the same files load from app://tsmedia in Electron and
// from the loopback host. One classic script (an IIFE, loaded with `defer`) and one stylesheet, without `crossorigin`:
// a plain script from the app's own origin is what the CSP's script-src 'self' allows everywhere (and it still runs
// from a file:// page, whose opaque origin refuses module scripts and CORS-mode requests). No inline script.
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

function classicScript(): Plugin {
  return {
    name: 'tsmedia-classic-script',
    apply: 'build',
    enforce: 'post',
    transformIndexHtml(html) {
      const out = html.replace(/<script type="module" crossorigin src=/g, '<script defer src=').replace(/ crossorigin(?=[\s>])/g, '');
      if (/type="module"|crossorigin|<script>/.test(out)) throw new Error('renderer/index.html: an inline or module script is left after the build');
      return out;
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [react(), classicScript()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    modulePreload: false,
    // One stylesheet file linked from index.html (not injected by the script as a <style> element).
    cssCodeSplit: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1024,
    rolldownOptions: { output: { format: 'iife', codeSplitting: false } },
  },
});
