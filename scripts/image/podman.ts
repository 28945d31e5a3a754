/**
 * Runs podman the way these machines need (../shared/research/containers.md): runc instead of crun
 * (crun refuses cgroups in hybrid mode), the cgroupfs manager, and a containers.conf that asks for no
 * default ulimits (setrlimit is refused in this sandbox). On a machine where podman works out of the box
 * the same settings are harmless. Used by `npm run image` (scripts/image/build.ts) and test/image/.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
/** Gitignored: the Debian base tarball, the stand-in build context, containers.conf. */
export const cacheDir = join(root, '.cache', 'image');

export interface ImageRef {
  repository: string;
  tag: string;
  ref: string;
}

/** The image the chart deploys by default: image.repository from the chart's values, the tag from package.json. */
export function chartImage(): ImageRef {
  const values = readFileSync(join(root, 'charts', 'flowpilot', 'values.yaml'), 'utf8');
  const m = /^image:\s*\n\s+repository:\s*(\S+)/m.exec(values);
  if (!m?.[1]) throw new Error('charts/flowpilot/values.yaml: no image.repository');
  const tag = packageVersion();
  return { repository: m[1], tag, ref: `${m[1]}:${tag}` };
}

export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json: no version');
  return pkg.version;
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Why podman cannot be used here, or null when it can. */
export function podmanMissing(): string | null {
  if (!which('podman')) return 'podman is not installed (apt-get install podman runc uidmap fuse-overlayfs)';
  return null;
}

function globalArgs(): string[] {
  const args: string[] = [];
  const runc = which('runc') ?? (existsSync('/usr/sbin/runc') ? '/usr/sbin/runc' : null);
  if (runc && process.env['FLOWPILOT_PODMAN_RUNTIME'] !== 'default') args.push('--runtime', runc, '--cgroup-manager=cgroupfs');
  return args;
}

function podmanEnv(): NodeJS.ProcessEnv {
  if (process.env['CONTAINERS_CONF']) return process.env;
  mkdirSync(cacheDir, { recursive: true });
  const conf = join(cacheDir, 'containers.conf');
  const text = '# Written by scripts/image/podman.ts: setrlimit is refused in this sandbox.\n[containers]\ndefault_ulimits = []\n';
  if (!existsSync(conf) || readFileSync(conf, 'utf8') !== text) writeFileSync(conf, text);
  return { ...process.env, CONTAINERS_CONF: conf };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `podman ARGS`, capturing its output (or streaming it to ours when `inherit`). */
export function podman(args: string[], opts: { inherit?: boolean; input?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('podman', [...globalArgs(), ...args], {
      env: podmanEnv(),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.inherit ? 'inherit' : 'pipe', opts.inherit ? 'inherit' : 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Like podman(), but throws with podman's stderr when it exits non-zero. */
export async function podmanOk(args: string[], opts: { inherit?: boolean } = {}): Promise<string> {
  const r = await podman(args, opts);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

export async function imageExists(ref: string): Promise<boolean> {
  return (await podman(['image', 'exists', ref])).code === 0;
}
