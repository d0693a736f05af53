// Starts a real Groundswell backend (e2e/serve.py) on loopback for one test file and stops it after.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Backend {
  url: string;
  slug: string;
  api_token: string;
  site_key: string;
  webhook_secret: string;
  database_url: string;
  [extra: string]: unknown;
  stop(): Promise<void>;
}

export interface BackendOptions {
  seed?: string;
  detector?: boolean;
  settings?: Record<string, string>;
  options?: Record<string, string>;
  env?: Record<string, string>;
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PYTHON = process.env.GROUNDSWELL_PYTHON ?? path.join(ROOT, ".venv", "bin", "python");

export async function startBackend(opts: BackendOptions = {}): Promise<Backend> {
  const args = [path.join(ROOT, "e2e", "serve.py"), "--seed", opts.seed ?? "empty"];
  if (opts.detector) args.push("--detector");
  for (const [k, v] of Object.entries(opts.settings ?? {})) args.push("--set", `${k}=${v}`);
  for (const [k, v] of Object.entries(opts.options ?? {})) args.push("--opt", `${k}=${v}`);
  const child: ChildProcess = spawn(PYTHON, args, {
    cwd: ROOT,
    env: { ...process.env, ...(opts.env ?? {}) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("backend did not start within 60 s")), 60_000);
    lines.once("line", (line) => { clearTimeout(timer); resolve(line); });
    child.once("exit", (code) => { clearTimeout(timer); reject(new Error(`backend exited with ${code}`)); });
  });
  const info = JSON.parse(first);
  return {
    ...info,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.stdin!.end();
      setTimeout(() => child.kill("SIGKILL"), 5_000).unref();
    }),
  };
}
