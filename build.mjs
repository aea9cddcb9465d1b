// Builds one self-contained bundle per function into dist/<name>/index.mjs, and the web
// dashboard into dist/dashboard/index.mjs: the bundle is the whole app (no node_modules at
// run time), which is what the images copy. The dashboard's page script and style (an
// esbuild bundle of dashboard/browser/) are put into its bundle as PAGE_ASSETS.
import { build } from 'esbuild';
import { readdirSync, statSync } from 'node:fs';
import { buildPageAssets } from './dashboard/browser/bundle.mjs';

const functions = readdirSync('functions').filter((name) => statSync(`functions/${name}`).isDirectory());
const apps = [...functions.map((name) => [name, `functions/${name}/main.ts`]), ['dashboard', 'dashboard/main.ts']];
const pageAssets = await buildPageAssets();

await Promise.all(
  apps.map(([name, entry]) =>
    build({
      entryPoints: [entry],
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
      ...(name === 'dashboard' ? { define: { PAGE_ASSETS: JSON.stringify(pageAssets) } } : {}),
    }),
  ),
);
console.log(`built ${apps.map(([name]) => `dist/${name}/index.mjs`).join(', ')} (page script ${Math.round(pageAssets.js.length / 1024)} kB)`);
