import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The app is built into the gateway's embedded directory; `npm run dev`
// serves it on :5173 with the API proxied to a gateway on :8080.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../internal/webui/dist/app",
    emptyOutDir: true,
    target: "es2022",
    // No inline module preload polyfill: the CSP allows no inline script.
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8080" },
  },
  test: {
    include: ["src/**/*.test.ts"],
    // Node has no page: the client's calls go to the origin this gives.
    setupFiles: ["src/test-setup.ts"],
  },
});
