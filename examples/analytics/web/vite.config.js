// Builds the dashboard into bundle/ (committed: `strato dev` and deploys serve it as it is).
// public/ (the web manifest, the service worker, the icons) is copied as it is.
import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "bundle", emptyOutDir: true, target: ["chrome133", "firefox130", "safari17"], sourcemap: false },
});
