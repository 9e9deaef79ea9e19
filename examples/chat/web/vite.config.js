// Builds the chat's page into bundle/ (committed: `strato dev` and deploys serve it as it is).
// amazon-chime-sdk-js lands in its own chunk, fetched only when the runtime config says calls run on Chime.
import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "bundle", emptyOutDir: true, target: ["chrome133", "firefox130", "safari17"], sourcemap: false, chunkSizeWarningLimit: 1500 },
});
