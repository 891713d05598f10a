import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
const modules = resolve(here, "node_modules");

// Third-party pages `landmarket serve` offers besides the app (/docs, /redoc, the OGC HTML
// map), copied from their npm packages so that nothing is loaded from another host.
const VENDOR: [string, string][] = [
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["redoc/bundles/redoc.standalone.js", "redoc/redoc.standalone.js"],
  ["leaflet/dist/leaflet.js", "leaflet/leaflet.js"],
  ["leaflet/dist/leaflet.css", "leaflet/leaflet.css"],
  ["leaflet/dist/images", "leaflet/images"],
];

function vendor(): Plugin {
  return {
    name: "landmarket-vendor",
    apply: "build",
    closeBundle() {
      const out = resolve(here, "dist/assets/vendor");
      for (const [from, to] of VENDOR) {
        mkdirSync(dirname(resolve(out, to)), { recursive: true });
        cpSync(resolve(modules, from), resolve(out, to), { recursive: true });
      }
      cpSync(resolve(here, "vendor-init"), out, { recursive: true });
      // ReDoc's sidebar shows a logo from its CDN, with no option to turn it off: point it
      // at a local blank image instead (the build fails if the address moves).
      const redoc = resolve(out, "redoc/redoc.standalone.js");
      const logo = "https://cdn.redoc.ly/redoc/logo-mini.svg";
      const code = readFileSync(redoc, "utf8");
      if (!code.includes(logo)) throw new Error(`ReDoc no longer loads ${logo}: check the bundle`);
      writeFileSync(redoc, code.replaceAll(logo, "/assets/vendor/redoc/logo-mini.svg"));
      writeFileSync(
        resolve(out, "redoc/logo-mini.svg"),
        '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
      );
    },
  };
}

// Everything the app loads comes from this origin: hashed bundles under /assets/ (served
// with a long cache life by `landmarket serve`), no CDN, no external fonts or tiles.
export default defineConfig({
  base: "/",
  publicDir: false,
  plugins: [vendor()],
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
