import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { precompressDir } from "../build/precompress";

let dir = "";

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = "";
});

function tree(files: Record<string, string | Buffer>): string {
  dir = mkdtempSync(join(tmpdir(), "precompress-"));
  for (const [name, body] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, body);
  }
  return dir;
}

describe("precompressDir", () => {
  it("writes a gzip of each text file that nginx would compress", () => {
    const script = "export const ideas = [" + '"an idea", '.repeat(200) + "];\n";
    const root = tree({
      "index.html": "<!doctype html>" + "<p>Brainstorm</p>".repeat(30),
      "assets/index-abc.js": script,
      "assets/index-abc.css": "body { margin: 0 }\n".repeat(40),
    });
    const written = precompressDir(root).map((p) => p.slice(root.length + 1)).sort();
    expect(written).toEqual(["assets/index-abc.css.gz", "assets/index-abc.js.gz", "index.html.gz"]);
    expect(gunzipSync(readFileSync(join(root, "assets/index-abc.js.gz"))).toString()).toBe(script);
  });

  it("leaves small files, other types and incompressible text alone", () => {
    const noise = randomBytes(600);
    const root = tree({
      "favicon.svg": "<svg/>",
      "assets/logo.png": Buffer.alloc(4096, 1),
      "assets/noise.txt": noise,
    });
    expect(precompressDir(root)).toEqual([]);
    expect(existsSync(join(root, "favicon.svg.gz"))).toBe(false);
  });
});
