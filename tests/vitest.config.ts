// Vitest configuration, kept in tests/ so the top level stays as the project lays it out.

import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: fileURLToPath(new URL("..", import.meta.url)),
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/support/global-setup.ts"],
    reporters: ["default", "./tests/support/summary-reporter.ts"],
    // Real servers start in hooks; fault tests wait out deadlines on purpose.
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Unhandled rejections fail the run: a store fault must never leave one behind.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});
