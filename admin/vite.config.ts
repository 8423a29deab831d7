// Builds the console into the Python package (committed: running the server needs no Node.js).
// File names carry no hash so a rebuild diffs cleanly and scripts/stamp.mjs can record them.
// ADMIN_OUT_DIR builds elsewhere (the rebuild check compares such a build with the committed one).
import { defineConfig } from "vite";

const outDir = process.env.ADMIN_OUT_DIR ?? "../shared/vector_store_api/admin_console/static";

export default defineConfig({
  base: "/admin/",
  build: {
    outDir,
    emptyOutDir: true,
    modulePreload: { polyfill: false }, // no inline script: the CSP forbids it
    assetsInlineLimit: 0, // no data: URLs either
    sourcemap: false,
    rollupOptions: {
      output: {
        entryFileNames: "assets/console.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: "assets/console[extname]",
      },
    },
  },
});
