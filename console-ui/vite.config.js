// Builds the console page into the Python package (scripts/vendor-console runs this).
import { defineConfig } from "vite";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  base: "/_strato/console/",
  build: {
    outDir: "../src/strato/console/ui",
    emptyOutDir: true,
    manifest: "manifest.json",
    assetsDir: "assets",
    target: ["chrome110", "firefox115"],
    sourcemap: false,
    rollupOptions: { input: "src/main.jsx" },
  },
});
