/**
 * Job modules on a TaskManager. The JobManager ships each job module's bytes with its
 * deployment. When the same file (same SHA-256) already exists at the submitted path, as on one
 * host or in one container image, it is imported in place so its relative imports resolve;
 * otherwise the bytes are written under the state dir and imported from there (self-contained
 * modules then work across hosts). Programs are cached per module and arguments.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { JobProgram } from '../contracts/task.ts';
import type { JobDeployment } from '../runtime/deployment.ts';
import type { ProgramLoader } from '../runtime/program-loader.ts';
import { resolveModulePath } from '../runtime/module-resolver.ts';

export { sha256 } from '../runtime/module-resolver.ts';

export class JobModules {
  private readonly stateDir: string;
  private readonly load: ProgramLoader;
  private readonly programs = new Map<string, Promise<JobProgram>>();

  constructor(stateDir: string, load: ProgramLoader) {
    this.stateDir = stateDir;
    this.load = load;
  }

  program(dep: JobDeployment): Promise<JobProgram> {
    const key = `${dep.module.sha256}|${JSON.stringify(dep.submission)}`;
    let p = this.programs.get(key);
    if (!p) {
      p = this.resolve(dep).then((modulePath) => this.load({ ...dep.submission, modulePath }));
      p.catch(() => this.programs.delete(key));
      this.programs.set(key, p);
    }
    return p;
  }

  private async resolve(dep: JobDeployment): Promise<string> {
    const local = resolveModulePath(dep.submission.modulePath, dep.module.sha256);
    if (local) return local;
    const dir = join(this.stateDir, 'job-modules', dep.module.sha256.slice(0, 16));
    await mkdir(dir, { recursive: true });
    const path = join(dir, basename(dep.module.fileName));
    await writeFile(path, dep.module.bytes);
    return path;
  }
}
