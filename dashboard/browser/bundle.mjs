// The dashboard page's script and style: browser/main.ts (and uPlot, and its CSS) bundled by
// esbuild into one script and one style sheet, kept in memory. build.mjs puts them into
// dist/dashboard/index.mjs, so the app stays one file; the tests build them the same way.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

/** @returns {Promise<{ js: string; css: string }>} */
export async function buildPageAssets() {
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./main.ts', import.meta.url))],
    bundle: true,
    write: false,
    outdir: 'page',
    entryNames: 'app',
    format: 'iife',
    platform: 'browser',
    // Browsers of the last few years; nothing the page does needs more.
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const text = (ext) => {
    const file = result.outputFiles.find((f) => f.path.endsWith(ext));
    if (!file) throw new Error(`the page bundle has no ${ext} output`);
    return file.text;
  };
  return { js: text('.js'), css: text('.css') };
}
