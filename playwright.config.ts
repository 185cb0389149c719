// Playwright with Debian's Chromium: Playwright's own browser download cannot work on these machines.
import { defineConfig } from "@playwright/test";
import { CHROMIUM_ARGS, CHROMIUM_PATH } from "./test/fixtures/chromium-args.ts";

// The browser test page (test/fixtures/browser-page), built for production and served by `vite preview`
// on 127.0.0.1: the tests run the same bundle a web app would ship, with no dev-server reloads.
const pagePort = Number(process.env.IRIS_E2E_PORT ?? 5174);
const pageConfig = "test/fixtures/browser-page/vite.config.ts";

export default defineConfig({
  testDir: "test/e2e",
  testMatch: "**/*.spec.ts",
  timeout: 120_000,
  // Two lanes: the 5-minute background-tab test beside all the others, which run one at a time.
  workers: 2,
  projects: [
    { name: "background-tab", testMatch: "background-tab.spec.ts", workers: 1 },
    { name: "pages", testIgnore: "background-tab.spec.ts", workers: 1 },
  ],
  reporter: [["list"]],
  outputDir: "test-results",
  webServer: {
    command: `npx vite build --config ${pageConfig} && npx vite preview --config ${pageConfig}`,
    url: `http://127.0.0.1:${pagePort}/`,
    reuseExistingServer: false,
    timeout: 60_000,
  },
  use: {
    baseURL: `http://127.0.0.1:${pagePort}/`,
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
});
