/**
 * `npm run image`: builds the repository's Dockerfile into the chart's default image
 * (image.repository from charts/flowpilot/values.yaml, tagged with package.json's version).
 *
 * No image registry is reachable where this project is developed and tested, so the Dockerfile's
 * public base (node:24-bookworm-slim) cannot be pulled. This script builds a LOCAL STAND-IN for it
 * and tags it with the base's name, then builds the Dockerfile with --pull=never:
 *   - a Debian bookworm minbase root filesystem made by mmdebstrap (cached as a tarball under .cache/image/),
 *   - the Node binary of the `node` npm package (node_modules/node, the version package.json pins),
 *   - npm from the host's global node_modules, and the `node` user (uid 1000) the official image has.
 * The Dockerfile itself is unchanged: on a machine that can pull, `podman build .` or `docker build .`
 * uses the public base. Pass --no-standin to build against whatever base is available.
 *
 * Prints one JSON line at the end: {"image", "seconds", "sizeBytes", "baseStandIn"}.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, chartImage, imageExists, podman, podmanMissing, podmanOk, root } from './podman.ts';

const STANDIN_LABEL = 'io.flowpilot.stand-in';

function log(msg: string): void {
  process.stderr.write(`image: ${msg}\n`);
}

/** The FROM images of the Dockerfile that are not its own stages. */
export function dockerfileBases(text: string): string[] {
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!m?.[1]) continue;
    if (!stages.has(m[1]) && !bases.includes(m[1])) bases.push(m[1]);
    if (m[2]) stages.add(m[2]);
  }
  return bases;
}

/** docker.io/library/NAME:TAG for an unqualified name, as podman stores it. */
export function qualify(ref: string): string {
  const first = ref.split('/')[0] ?? '';
  if (ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return ref;
  return ref.includes('/') ? `docker.io/${ref}` : `docker.io/library/${ref}`;
}

function nodeVersion(nodeBin: string): string {
  const r = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${nodeBin} --version failed`);
  return r.stdout.trim();
}

async function baseTarball(suite: string): Promise<string> {
  const tar = join(cacheDir, `debian-${suite}-minbase.tar`);
  if (existsSync(tar)) return tar;
  mkdirSync(cacheDir, { recursive: true });
  log(`making the Debian ${suite} base with mmdebstrap (once; cached at ${tar})`);
  const tmp = `${tar}.partial`;
  const r = spawnSync(
    'mmdebstrap',
    [
      '--variant=minbase',
      '--format=tar',
      '--aptopt=APT::Install-Recommends "false"',
      // What Debian's slim images leave out.
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-exclude=/usr/share/info/*',
      suite,
      tmp,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (r.error || r.status !== 0) throw new Error(`mmdebstrap failed (${r.error?.message ?? `exit ${r.status}`}); apt-get install mmdebstrap`);
  renameSync(tmp, tar);
  return tar;
}

/** Builds the stand-in for `base` (a node:<major>-<suite>-slim name) unless one for this Node version exists. */
async function standIn(base: string): Promise<void> {
  const m = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)-(\w+)-slim$/.exec(base);
  if (!m) throw new Error(`no stand-in recipe for the base ${base}; build with --no-standin on a machine that can pull it`);
  const [, major, suite] = m as unknown as [string, string, string];
  const nodeBin = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(nodeBin)) throw new Error('node_modules/node/bin/node is missing; run npm ci');
  const version = nodeVersion(nodeBin);
  if (!version.startsWith(`v${major}.`)) throw new Error(`node_modules/node is ${version}, the Dockerfile wants Node ${major}`);
  const want = `node-${version}-${suite}`;
  const target = qualify(base);
  if (await imageExists(target)) {
    const label = (await podmanOk(['image', 'inspect', '--format', `{{index .Labels "${STANDIN_LABEL}"}}`, target])).trim();
    if (label === want) return;
    if (label === '' || label === '<no value>') {
      log(`${target} exists and is not a stand-in; using it`);
      return;
    }
  }
  const baseRef = `localhost/flowpilot-debian:${suite}-minbase`;
  if (!(await imageExists(baseRef))) {
    const tar = await baseTarball(suite);
    log(`importing ${tar} as ${baseRef}`);
    await podmanOk(['import', tar, baseRef]);
  }
  const ctx = join(cacheDir, 'standin');
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(ctx, { recursive: true });
  try {
    linkSync(realpathSync(nodeBin), join(ctx, 'node')); // 120 MB: a hard link when on the same filesystem
  } catch {
    cpSync(nodeBin, join(ctx, 'node'));
  }
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' }).stdout.trim();
  if (!npmRoot || !existsSync(join(npmRoot, 'npm', 'bin', 'npm-cli.js'))) throw new Error('npm is not installed globally on this machine; the stand-in needs its copy');
  cpSync(join(npmRoot, 'npm'), join(ctx, 'npm'), { recursive: true, dereference: true });
  writeFileSync(
    join(ctx, 'Containerfile'),
    [
      '# A local stand-in for the public ' + base + ' image (see scripts/image/build.ts).',
      `FROM ${baseRef}`,
      'COPY node /usr/local/bin/node',
      'COPY npm /usr/local/lib/node_modules/npm',
      'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
      ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\',
      ' && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\',
      ' && node --version && npm --version',
      `ENV NODE_VERSION=${version.slice(1)}`,
      `LABEL ${STANDIN_LABEL}="${want}"`,
      'CMD ["node"]',
      '',
    ].join('\n'),
  );
  log(`building the stand-in ${target} (Node ${version}, Debian ${suite} minbase)`);
  await podmanOk(['build', '--pull=never', '--network', 'host', '-t', target, ctx], { inherit: true });
  rmSync(ctx, { recursive: true, force: true });
}

/**
 * When this machine reaches the npm registry through a TLS-intercepting proxy (npm's `cafile` set), the build's
 * `npm ci` needs the same CA bundle. It is bind-mounted for the RUN steps only, with a global npmrc that
 * points npm at it; neither ends up in a layer, and the Dockerfile stays unchanged.
 */
function caMounts(): string[] {
  const r = spawnSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' });
  const cafile = r.status === 0 ? r.stdout.trim() : '';
  if (!cafile || cafile === 'null' || cafile === 'undefined' || !existsSync(cafile)) return [];
  const npmrc = join(cacheDir, 'build-npmrc');
  writeFileSync(npmrc, 'cafile=/run/flowpilot-build/ca.crt\n');
  return ['-v', `${cafile}:/run/flowpilot-build/ca.crt:ro`, '-v', `${npmrc}:/usr/local/etc/npmrc:ro`];
}

export interface BuildResult {
  image: string;
  seconds: number;
  sizeBytes: number;
  baseStandIn: boolean;
}

export async function buildImage(opts: { standin?: boolean; quiet?: boolean } = {}): Promise<BuildResult> {
  const missing = podmanMissing();
  if (missing) throw new Error(missing);
  const started = Date.now();
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const standin = opts.standin !== false;
  if (standin) for (const base of dockerfileBases(dockerfile)) await standIn(base);
  const { ref } = chartImage();
  log(`building ${ref} from Dockerfile${standin ? ' (base: local stand-in)' : ''}`);
  const args = ['build', '--network', 'host', '--layers', '-t', ref, '-f', join(root, 'Dockerfile'), ...caMounts()];
  if (standin) args.push('--pull=never');
  args.push(root);
  const r = await podman(args, { inherit: !opts.quiet });
  if (r.code !== 0) throw new Error(`podman build exited ${r.code}${opts.quiet ? `: ${r.stderr.slice(-2000)}` : ''}`);
  const sizeBytes = Number((await podmanOk(['image', 'inspect', '--format', '{{.Size}}', ref])).trim());
  return { image: ref, seconds: (Date.now() - started) / 1000, sizeBytes, baseStandIn: standin };
}

if (import.meta.main) {
  const standin = !process.argv.includes('--no-standin');
  buildImage({ standin })
    .then((res) => {
      log(`${res.image}: ${(res.sizeBytes / 1e6).toFixed(0)} MB, built in ${res.seconds.toFixed(0)} s`);
      process.stdout.write(JSON.stringify(res) + '\n');
    })
    .catch((err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(1);
    });
}
