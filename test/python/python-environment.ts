import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
const requirementsFile = new URL("./requirements.txt", import.meta.url).pathname;
const cacheDir = join(root, "node_modules/.cache/leasegate-python");

/** The interpreter the virtualenv is made from: python3 on PATH unless LEASEGATE_TEST_PYTHON names another. */
const basePython = process.env.LEASEGATE_TEST_PYTHON || "python3";

async function run(command: string, args: string[], options: { cwd?: string } = {}): Promise<string> {
  const { stdout } = await exec(command, args, { cwd: options.cwd ?? root, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" } });
  return stdout;
}

/**
 * A virtualenv with the pinned test requirements, made once per interpreter and requirements
 * file under node_modules/.cache and reused after that. It is built in a scratch folder and
 * renamed into place complete, so an interrupted or concurrent run never leaves a half-made one.
 * Returns the virtualenv's python.
 */
export async function pythonWithTestTools(): Promise<string> {
  const version = await run(basePython, ["-c", "import sys; print(sys.version)"]);
  const key = createHash("sha256").update(version).update(readFileSync(requirementsFile)).digest("hex").slice(0, 16);
  const venv = join(cacheDir, `venv-${key}`);
  const python = join(venv, "bin", "python");
  if (existsSync(join(venv, ".complete"))) return python;

  mkdirSync(cacheDir, { recursive: true });
  const building = mkdtempSync(join(cacheDir, `building-${key}-`));
  try {
    await run(basePython, ["-m", "venv", building]);
    await run(join(building, "bin", "python"), ["-m", "pip", "install", "--no-input", "--quiet", "--no-cache-dir", "--only-binary", ":all:", "-r", requirementsFile]);
    writeFileSync(join(building, ".complete"), `${version}`);
    renameSync(building, venv);
  } catch (err) {
    // Another run may have finished the same virtualenv meanwhile.
    if (!existsSync(join(venv, ".complete"))) throw err;
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  return python;
}

/**
 * Builds the client's wheel with the build backend its pyproject.toml names, exactly as a user's
 * `pip install` would, and installs it into `target` (a folder for PYTHONPATH). Returns the wheel's path.
 */
export async function installClientWheel(python: string, scratch: string, target: string): Promise<string> {
  const wheels = join(scratch, "wheels");
  mkdirSync(wheels, { recursive: true });
  await run(python, ["-c", "import sys, flit_core.buildapi as backend; backend.build_wheel(sys.argv[1])", wheels], { cwd: join(root, "clients/python") });
  const [wheel] = readdirSync(wheels).filter((file) => file.endsWith(".whl"));
  if (!wheel) throw new Error(`no wheel was built in ${wheels}`);
  await run(python, ["-m", "pip", "install", "--no-input", "--quiet", "--no-cache-dir", "--no-deps", "--no-index", "--target", target, join(wheels, wheel)]);
  return join(wheels, wheel);
}
