// The dashboard's Vite config. `npm start` builds it for production and serves the build (see
// dashboard-server.ts); `npm run dashboard:dev` runs Vite's dev server against a running stack.
//
// The build refuses any Node-only module (ws, werift, node:*): the page runs the browser entry of core,
// and this is where a stray import would show first.

import { builtinModules } from "node:module";
import path from "node:path";
import { defineConfig } from "vite";
import type { Plugin } from "vite";

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

function browserOnly(): Plugin {
  return {
    name: "iris-dashboard-browser-only",
    enforce: "pre",
    resolveId(source, importer) {
      const nodeOnly = builtins.has(source) || source.startsWith("node:") || /^(ws|werift)(\/|$)/.test(source);
      // tweetnacl asks for "crypto" only where self.crypto is missing (no browser); its package.json maps
      // it to nothing for browsers.
      const tweetnaclFallback = source === "crypto" && /node_modules[\\/]tweetnacl[\\/]/.test(importer ?? "");
      if (nodeOnly && !tweetnaclFallback) {
        this.error(`the dashboard must not import the Node-only module "${source}" (from ${importer ?? "?"})`);
      }
      if (importer && /[\\/]core[\\/](node|.*\.node)\.ts$/.test(source)) {
        this.error(`the dashboard must import core/browser.ts, not ${source}`);
      }
      return null;
    },
  };
}

export default defineConfig({
  root: path.join(import.meta.dirname, "app"),
  logLevel: "warn",
  clearScreen: false,
  plugins: [browserOnly()],
  build: {
    outDir: path.join(import.meta.dirname, "../dist/dashboard"),
    emptyOutDir: true,
    reportCompressedSize: false,
    // The core and uPlot together are a little over Vite's default warning size; that is expected.
    chunkSizeWarningLimit: 1024,
  },
  server: { host: "127.0.0.1", port: Number(process.env.IRIS_DASHBOARD_PORT || 7680), strictPort: true },
  preview: { host: "127.0.0.1", port: Number(process.env.IRIS_DASHBOARD_PORT || 7680), strictPort: true },
});
