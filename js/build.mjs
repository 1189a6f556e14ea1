// Bundles the modules under src/ into the one ES module anywidget loads (widget.js) and the one
// stylesheet (widget.css: src/widget.css and any CSS a module imports, e.g. a library's).
// Both outputs are committed; tests/test_widget_types.py rebuilds them and compares.
//   npm run build --prefix js            writes js/widget.js and js/widget.css
//   node js/build.mjs OUTDIR             writes them to OUTDIR instead (the test does this)
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const outdir = process.argv[2] ?? here;
const generated = "generated from js/src by `npm run build --prefix js`: do not edit by hand";

await esbuild.build({
  absWorkingDir: here, // the "// src/….js" markers in the bundle stay the same on every machine
  entryPoints: { widget: "src/index.js" },
  outdir,
  bundle: true,
  format: "esm",
  target: "es2020",
  minify: false, // readable and diffable: a change in src/ shows as the same change here
  banner: { js: `// nbexp front end, ${generated}.`, css: `/* nbexp front end, ${generated}. */` },
  logLevel: "warning",
});
