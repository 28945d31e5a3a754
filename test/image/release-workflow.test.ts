/**
 * The release workflow (.github/workflows/release.yml) cannot run here (no registry); this checks what
 * it promises: the multi-arch image from the repository's Dockerfile, the chart pushed as an OCI
 * artifact, and every version taken from package.json (the tag must match it; the chart is packaged
 * with it). Its shell steps are also run through `bash -n`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const root = join(import.meta.dirname, '..', '..');

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

test('release workflow: multi-arch image, chart as OCI artifact, versions from package.json', () => {
  const wf = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as {
    on: { push: { tags: string[] } };
    jobs: Record<string, { steps: Step[] }>;
  };
  assert.deepEqual(wf.on.push.tags, ['v*']);
  const steps = Object.values(wf.jobs).flatMap((j) => j.steps);
  const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
  assert.ok(build?.with);
  assert.equal(build.with['file'], 'Dockerfile');
  assert.match(String(build.with['platforms']), /linux\/amd64/);
  assert.match(String(build.with['platforms']), /linux\/arm64/);
  assert.match(String(build.with['tags']), /steps\.meta\.outputs\.repository \}\}:\$\{\{ steps\.meta\.outputs\.version/);
  const scripts = steps.map((s) => s.run ?? '').join('\n');
  assert.match(scripts, /require\('\.\/package\.json'\)\.version/);
  assert.match(scripts, /helm package charts\/flowpilot --version "\$VERSION" --app-version "\$VERSION"/);
  assert.match(scripts, /helm push "dist\/flowpilot-\$\{VERSION\}\.tgz" "\$CHART_REPO"/);
  assert.match(scripts, /chart_repo=oci:\/\//);
  for (const s of steps) {
    if (!s.run) continue;
    const r = spawnSync('bash', ['-n'], { input: s.run.replace(/\$\{\{[^}]*\}\}/g, 'X'), encoding: 'utf8' });
    assert.equal(r.status, 0, `bash -n: ${r.stderr}\n${s.run}`);
  }
});

test('release workflow: the meta step derives the chart default image from values.yaml and package.json', () => {
  const wf = parse(readFileSync(join(root, '.github/workflows/release.yml'), 'utf8')) as { jobs: Record<string, { steps: Array<Step & { id?: string }> }> };
  const meta = Object.values(wf.jobs).flatMap((j) => j.steps).find((s) => s.id === 'meta');
  assert.ok(meta?.run);
  const out = join(root, '.cache', 'release-meta-output');
  const r = spawnSync('bash', ['-eo', 'pipefail', '-c', meta.run], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, GITHUB_OUTPUT: out, GITHUB_REF_TYPE: 'branch', GITHUB_REF_NAME: 'main' },
  });
  assert.equal(r.status, 0, r.stderr);
  const lines = Object.fromEntries(readFileSync(out, 'utf8').trim().split('\n').map((l) => l.split('=') as [string, string]));
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(lines['version'], pkg.version);
  assert.equal(lines['repository'], 'ghcr.io/flowpilot/flowpilot');
  assert.equal(lines['chart_repo'], 'oci://ghcr.io/flowpilot/charts');
  const mismatch = spawnSync('bash', ['-eo', 'pipefail', '-c', meta.run], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, GITHUB_OUTPUT: out, GITHUB_REF_TYPE: 'tag', GITHUB_REF_NAME: 'v9.9.9' },
  });
  assert.notEqual(mismatch.status, 0);
  assert.match(mismatch.stderr, /does not match package\.json version/);
});

test('one version: Chart.yaml version and appVersion, the chart image tag default and the CLI all come from package.json', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const chart = parse(readFileSync(join(root, 'charts/flowpilot/Chart.yaml'), 'utf8')) as { version: string; appVersion: string };
  assert.equal(chart.version, pkg.version);
  assert.equal(String(chart.appVersion), pkg.version);
  const values = parse(readFileSync(join(root, 'charts/flowpilot/values.yaml'), 'utf8')) as { image: { repository: string; tag: string } };
  assert.equal(values.image.repository, 'ghcr.io/flowpilot/flowpilot');
  assert.equal(values.image.tag, '', 'the tag defaults to appVersion');
  const r = spawnSync(join(root, 'bin', 'flowpilot'), ['--version'], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), pkg.version);
});
