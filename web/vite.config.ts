import { defineConfig } from "vite";

// Everything the app loads comes from this origin: hashed bundles under /assets/ (served
// with a long cache life by `landmarket serve`), no CDN, no external fonts or tiles.
export default defineConfig({
  base: "/",
  publicDir: false,
  build: {
    outDir: "dist",
    assetsDir: "assets",
    emptyOutDir: true,
    // MapLibre alone is ~800 kB minified; the budget is gzipped size, checked by a benchmark.
    chunkSizeWarningLimit: 1500,
    // Inline assets would need data: script/style sources in the CSP; keep them as files.
    assetsInlineLimit: 0,
  },
});
