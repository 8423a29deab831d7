// Records what the committed build was made from and what it is: sha256 of every source file and of
// every built file, in build-stamp.json next to the build. tests/unit/test_admin_console_static.py
// recomputes both (no Node.js needed), so a source changed without a rebuild, or a built file
// edited by hand, fails `make test`. The file list and hashing rule are mirrored there.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const outDir = process.env.ADMIN_OUT_DIR ?? join(root, "../shared/vector_store_api/admin_console/static");
const SOURCES = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", "scripts", "src"];

function files(dir, base) {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path, base) : [relative(base, path)];
    })
    .filter((path) => path !== "build-stamp.json");
}

function digest(base, paths) {
  const entries = {};
  for (const path of [...paths].sort()) entries[path] = createHash("sha256").update(readFileSync(join(base, path))).digest("hex");
  return entries;
}

const sources = digest(root, SOURCES.flatMap((p) => (statSync(join(root, p)).isDirectory() ? files(join(root, p), root) : [p])));
const built = digest(outDir, files(outDir, outDir));
writeFileSync(join(outDir, "build-stamp.json"), JSON.stringify({ sources, built }, null, 1) + "\n");
