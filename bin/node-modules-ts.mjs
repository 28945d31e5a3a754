// Loaded with `node --import` by bin/flowpilot when the package is installed under a node_modules
// directory (npm install -g, npx, a project's dependency). Node strips TypeScript types itself, but
// refuses to for files under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING); this hook
// does the same stripping, with Node's own stripper, for this package's .ts files only (not for its
// dependencies). A checkout of the repository never needs it.
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = pathToFileURL(fileURLToPath(new URL('..', import.meta.url))).href;
const deps = `${root}node_modules/`;

// The stripper is the one Node uses for .ts files elsewhere; its "experimental" notice on every
// start would be noise for a CLI, so that one warning (and only it) is dropped.
const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const text = typeof warning === 'string' ? warning : warning?.message;
  if (typeof text === 'string' && text.startsWith('stripTypeScriptTypes is an experimental feature')) return;
  return emitWarning.call(process, warning, ...rest);
};

registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith(root) && !url.startsWith(deps) && url.endsWith('.ts')) {
      const code = readFileSync(fileURLToPath(url), 'utf8');
      return { format: 'module', source: stripTypeScriptTypes(code, { mode: 'strip', sourceUrl: url }), shortCircuit: true };
    }
    return nextLoad(url, context);
  },
});
