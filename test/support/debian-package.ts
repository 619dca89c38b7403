import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const installing = new Map<string, Promise<void>>();

/**
 * Installs a Debian package when the program a test needs from it is missing (CI machines are
 * root and reach Debian's archive). Test files run in parallel processes and dpkg allows one
 * installer at a time: one file lock for every package lets one process install while the others
 * wait, and each looks again once it holds the lock.
 */
export function ensureDebianPackage(program: string, debianPackage: string): Promise<void> {
  if (existsSync(program)) return Promise.resolve();
  let install = installing.get(program);
  if (!install) {
    install = (async () => {
      if (process.getuid?.() !== 0) throw new Error(`${program} is missing: install Debian's ${debianPackage} package (apt-get install ${debianPackage})`);
      const script = `test -x ${program} || { apt-get -qq update && apt-get -qq install -y ${debianPackage}; }`;
      await exec("flock", [join(tmpdir(), "leasegate-apt.lock"), "sh", "-c", script], {
        env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
        maxBuffer: 64 * 1024 * 1024,
      });
      if (!existsSync(program)) throw new Error(`apt-get installed ${debianPackage} but ${program} is still missing`);
    })();
    installing.set(program, install);
  }
  return install;
}
