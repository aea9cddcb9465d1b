// Builds one self-contained bundle per function into dist/<name>/index.mjs: the bundle is
// the whole app (no node_modules at run time), which is what the function images copy.
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';

const functions = readdirSync('functions').filter((name) => statSync(`functions/${name}`).isDirectory());

await Promise.all(
  functions.map((name) =>
    build({
      entryPoints: [`functions/${name}/main.ts`],
      outfile: `dist/${name}/index.mjs`,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      sourcemap: 'linked',
      minify: false,
      legalComments: 'none',
      // Some dependencies are CommonJS and call require(): give the ESM bundle one.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'warning',
    }),
  ),
);
console.log(`built ${functions.map((f) => `dist/${f}/index.mjs`).join(', ')}`);
