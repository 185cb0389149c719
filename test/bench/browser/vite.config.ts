// Builds and serves the benchmark's browser page (the webrtc scenario opens it in Chromium through
// `vite preview` on 127.0.0.1 and a free port). Its own output directory, so a bench run never touches
// the end-to-end tests' page.

import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  logLevel: "warn",
  clearScreen: false,
  build: {
    outDir: "../../../dist/bench-page",
    emptyOutDir: true,
    reportCompressedSize: false,
  },
  preview: { host: "127.0.0.1", port: 0, strictPort: false },
});
