// Gzipped copies of the build's text files, made once at the highest
// level, which nginx serves as they are (gzip_static) to clients that
// accept gzip. Without them nginx compresses each file again for every
// client that fetches it, in its one event loop: 3 to 4 ms of a core for
// the main script, during which every other connection waits.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { constants, gzipSync } from "node:zlib";
import type { Plugin } from "vite";

// What nginx's gzip_types lists (nginx/nginx.conf.in), by extension.
const TEXT = /\.(?:html?|css|js|mjs|json|map|webmanifest|svg|txt)$/;
// nginx's gzip_min_length: smaller answers go out as they are.
const MIN_BYTES = 256;

// Writes NAME.gz beside each text file of dir (and its subdirectories) of
// at least MIN_BYTES whose gzip is smaller; returns the files written.
export function precompressDir(dir: string): string[] {
  const written: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const info = statSync(path);
    if (info.isDirectory()) {
      written.push(...precompressDir(path));
      continue;
    }
    if (!info.isFile() || !TEXT.test(name) || info.size < MIN_BYTES) continue;
    const plain = readFileSync(path);
    const packed = gzipSync(plain, { level: constants.Z_BEST_COMPRESSION });
    if (packed.length >= plain.length) continue;
    writeFileSync(path + ".gz", packed);
    written.push(path + ".gz");
  }
  return written;
}

// After the build has written dist/ (public files included).
export function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "brainstorm-precompress",
    apply: "build",
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      precompressDir(outDir);
    },
  };
}
