import fs from 'node:fs';
import path from 'node:path';

export interface SystemDependency {
  /** An absolute path, or a command looked up on PATH (`bwrap`). */
  executable: string;
  /** How to install it, for the loud line (`apt-get install chromium`). */
  install: string;
  /** What skips without it (`the /docs browser test`). */
  skips: string;
}

/**
 * Set (to anything) by .ci/run, which installs every system dependency: a missing one then fails
 * the run instead of skipping, so CI never skips a suite unnoticed.
 */
export const requireSystemDependencies = 'TEST_REQUIRE_SYSTEM_DEPENDENCIES';

function executableAt(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The path of a program a suite needs from the operating system, evaluated once at collection time;
 * undefined after one loud line when it is not installed, so the suite skips visibly (pass
 * `path === undefined` to `describe.skipIf`), as the PostgreSQL suites do.
 */
export function systemDependency(dependency: SystemDependency): string | undefined {
  const { executable, install, skips } = dependency;
  const candidates = path.isAbsolute(executable)
    ? [executable]
    : (process.env.PATH ?? '')
        .split(path.delimiter)
        .filter(Boolean)
        .map((folder) => path.join(folder, executable));
  const found = candidates.find(executableAt);
  if (found !== undefined) return found;
  const missing = `${executable} is not installed (${install})`;
  if (process.env[requireSystemDependencies] !== undefined) {
    throw new Error(`${missing}, and ${requireSystemDependencies} is set: ${skips} must run`);
  }
  console.warn(`\n!!! ${missing}: ${skips} is SKIPPED !!!\n`);
  return undefined;
}
