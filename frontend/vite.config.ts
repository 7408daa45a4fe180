import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";
import { precompress } from "./build/precompress.ts";

// The app is served by nginx from dist/ (SPA fallback to index.html, a long
// cache for /assets/). `npm run dev` proxies /api to a running stack
// (script/server, port 8080 unless BS_BASE_URL says otherwise). The build
// leaves a gzipped copy beside each text file for nginx's gzip_static.
export default defineConfig({
  plugins: [react(), tailwindcss(), precompress()],
  build: {
    outDir: "dist",
    assetsDir: "assets",
    sourcemap: false,
    // No inline data: URLs for scripts or fonts: everything is a file under /assets/.
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      "/api": { target: process.env.BS_BASE_URL ?? "http://127.0.0.1:8080", changeOrigin: false },
    },
  },
  test: {
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
