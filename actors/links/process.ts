/**
 * The `"process"` placement: a link to a guest in a `deno` subprocess, killable for certain
 * (SIGKILL), with its own heap limit and permission flags.
 *
 * The subprocess runs `deno run` of a generated `data:` module that imports the actor's module
 * statically and serves the guest ({@linkcode processEntryUrl}), with `--config` pointing at the
 * nearest `deno.json` so that its bare specifiers resolve. Frames travel over its stdin and stdout
 * as length-prefixed batches, JSON when that is exact and V8's structured-clone format otherwise
 * (see `../process_entry.ts`); its stderr is the parent's, and everything it would print on stdout
 * (`console.log` and friends) goes to stderr. It exits by itself when its stdin closes; the host
 * reports any exit it did not cause as the endpoint's death, with the exit code or signal.
 *
 * @module
 */

import type { ToGuest, ToHost } from "../../mailbox/wire.ts";
import type { Endpoint, Link, PlacementTraits } from "../endpoint.ts";
import { encodeFrames, FrameReader } from "../../mailbox/pipe.ts";
import { CLEAR_LOADING_SOURCE, markLoadingSource } from "../_loading.ts";

/**
 * A subprocess: one guest per actor, killable for certain (SIGKILL), no shared memory with the
 * host (frames cross a pipe; a `SharedArrayBuffer` cannot).
 */
export const PROCESS_TRAITS: PlacementTraits = Object.freeze({
  dedicated: true,
  killable: true,
  trusted: false,
  sharesMemory: false,
});

/**
 * The source of a subprocess's entry module: it imports `moduleUrl` statically, then serves
 * (`actors/process_entry.ts`).
 *
 * @param moduleUrl The actor's module.
 */
export function processEntryUrl(moduleUrl: string): string {
  const entry = JSON.stringify(new URL("../process_entry.ts", import.meta.url).href);
  const source = markLoadingSource(moduleUrl) +
    `import * as m from ${JSON.stringify(moduleUrl)};\n` +
    `import { serveProcess } from ${entry};\n` +
    CLEAR_LOADING_SOURCE +
    `serveProcess({ ${JSON.stringify(moduleUrl)}: m });\n`;
  return `data:application/javascript,${encodeURIComponent(source)}`;
}

/** Options of {@linkcode processLink}. */
export interface ProcessLinkOptions {
  /** The actor's module, imported statically by the subprocess's entry. */
  moduleUrl: string;
  /** A name for logs (the actor's path). */
  name: string;
  /**
   * The subprocess's permissions, turned into `--allow-*` flags:
   *
   * - `undefined` or `"none"`: no permission at all. The actor's module and its static imports load
   *   without read access.
   * - `"inherit"`: `-A` if this process holds every permission, else `--allow-NAME` for each
   *   permission it holds without restriction. A permission held only for some paths or hosts
   *   (`--allow-read=/tmp`) cannot be queried as a whole and is not passed on: list it explicitly.
   * - an object: for each of `read`, `write`, `net`, `env`, `sys`, `run`, `ffi`, `import`: `true`
   *   → `--allow-NAME`; a list → `--allow-NAME=a,b` (paths as strings or `file:` URLs; a value
   *   with a comma is refused, Deno's flags cannot carry it); `"inherit"` → `--allow-NAME` if this
   *   process holds it without restriction; `false` or absent → nothing.
   */
  permissions: Deno.PermissionOptions | undefined;
  /** The V8 old-space limit in MiB (`--v8-flags=--max-old-space-size=N`). */
  maxHeapMb: number | undefined;
}

/**
 * The longest batch the host takes from a subprocess: a header announcing more ends the
 * subprocess before anything is buffered. (V8 cannot hold a string of more than 512 MiB anyway.)
 */
const MAX_BATCH_BYTES = 512 * 1024 * 1024;

const PERMISSION_NAMES = ["read", "write", "net", "env", "sys", "run", "ffi", "import"] as const;
type PermissionName = typeof PERMISSION_NAMES[number];

/**
 * Starts a subprocess guest and links it to `endpoint`.
 *
 * If the process cannot be started (no `--allow-run` here, say), the endpoint dies with the reason
 * in a microtask, which fails the actor's spawn.
 *
 * @throws {TypeError} When `permissions` or `maxHeapMb` cannot be turned into flags.
 */
export function processLink(endpoint: Endpoint, options: ProcessLinkOptions): Link {
  const args = ["run", "--no-prompt", ...configFlags(options.moduleUrl)];
  args.push(...permissionFlags(options.permissions, options.name));
  if (options.maxHeapMb !== undefined) {
    if (!Number.isInteger(options.maxHeapMb) || options.maxHeapMb <= 0) {
      throw new TypeError(
        `Cannot start ${options.name}: maxHeapMb must be a positive integer, received ${options.maxHeapMb}`,
      );
    }
    args.push(`--v8-flags=--max-old-space-size=${options.maxHeapMb}`);
  }
  args.push(processEntryUrl(options.moduleUrl));

  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env: { DENO_NO_UPDATE_CHECK: "1" },
    }).spawn();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const failure = new Error(`Cannot start a subprocess for ${options.name}: ${reason}`, {
      cause: error,
    });
    queueMicrotask(() => endpoint.die(failure));
    return { post() {}, terminate() {} };
  }
  return new ProcessLink(endpoint, child, options.name);
}

/** The host's end of one subprocess. */
class ProcessLink implements Link {
  readonly #endpoint: Endpoint;
  readonly #child: Deno.ChildProcess;
  readonly #name: string;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #terminated = false;
  #exited = false;

  constructor(endpoint: Endpoint, child: Deno.ChildProcess, name: string) {
    this.#endpoint = endpoint;
    this.#child = child;
    this.#name = name;
    this.#stdin = child.stdin.getWriter();
    // A write fails once the process is gone; the exit is reported from its status instead.
    this.#stdin.closed.catch(() => {});
    void this.#watch();
  }

  post(frames: ToGuest[], transfer: Transferable[]): void {
    if (this.#terminated || this.#exited) return;
    for (const item of transfer) {
      if (!(item instanceof ArrayBuffer)) {
        throw new DOMException(
          `Cannot send a ${item.constructor.name} to a subprocess: only ArrayBuffers can be transferred`,
          "DataCloneError",
        );
      }
    }
    // A DataCloneError here makes the endpoint retry frame by frame, failing only the bad ones.
    const bytes = encodeFrames(withoutSharedMemory(frames));
    // Transferred buffers are copied into the message; detach them as postMessage would.
    for (const item of transfer as ArrayBuffer[]) if (!item.detached) item.transfer();
    this.#stdin.write(bytes).catch(() => {});
  }

  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#stdin.abort().catch(() => {});
    if (this.#exited) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // Already exited: its status is about to resolve.
    }
  }

  /** Reads frames until stdout ends, then reports the exit unless the host ended the process. */
  async #watch(): Promise<void> {
    const reading = this.#read();
    const status = await this.#child.status;
    this.#exited = true;
    // Frames the process wrote before it exited are handled first.
    await reading;
    this.#stdin.abort().catch(() => {});
    if (this.#terminated) return;
    const how = status.signal !== null
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    const oom = status.signal === "SIGTRAP" || status.signal === "SIGABRT"
      ? " (out of memory, or a V8 fatal error)"
      : "";
    const error = new Error(`The subprocess of ${this.#name} ${how}${oom}`);
    // `ref.stopped()` of an actor that ended this way reports the code.
    if (status.signal === null) Object.assign(error, { exitCode: status.code });
    this.#endpoint.die(error);
  }

  async #read(): Promise<void> {
    const endpoint = this.#endpoint;
    const reader = new FrameReader<ToHost>(
      (frames) => {
        if (this.#terminated) return;
        try {
          endpoint.receive(frames);
        } catch (error) {
          // The endpoint checks what it receives; should anything still throw, the guest is at fault.
          endpoint.die(
            new Error(`The subprocess of ${this.#name} sent a frame the host could not handle`, {
              cause: error,
            }),
          );
          this.terminate();
        }
      },
      (bytes) => Deno.stderr.writeSync(bytes),
      MAX_BATCH_BYTES,
    );
    try {
      for await (const chunk of this.#child.stdout) reader.push(chunk);
    } catch (error) {
      if (this.#terminated) return;
      const reason = error instanceof Error ? error.message : String(error);
      endpoint.die(new Error(`The wire to the subprocess of ${this.#name} broke: ${reason}`));
      this.terminate();
    }
  }
}

/**
 * A `SharedArrayBuffer` cannot cross a process: the stop flag of a spawn frame stays behind, and
 * the subprocess makes its own (set when a `stop` frame arrives).
 */
function withoutSharedMemory(frames: ToGuest[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i];
    if (frame.t !== "spawn") continue;
    out ??= frames.slice();
    out[i] = { ...frame, stop: null };
  }
  return out ?? frames;
}

/**
 * `--config` with the nearest `deno.json`/`deno.jsonc` above the actor's module (else above the
 * working directory), so that its bare specifiers resolve as they do here: `deno run` of a `data:`
 * module looks for no configuration file by itself.
 */
function configFlags(moduleUrl: string): string[] {
  const starts: string[] = [];
  try {
    if (moduleUrl.startsWith("file:")) starts.push(directoryOf(new URL(moduleUrl)));
    starts.push(Deno.cwd());
  } catch {
    // No read permission to look: the subprocess runs without a configuration file.
  }
  for (const start of starts) {
    let dir = start;
    while (true) {
      for (const name of ["deno.json", "deno.jsonc"]) {
        const candidate = `${dir}/${name}`;
        try {
          if (Deno.statSync(candidate).isFile) return ["--config", candidate];
        } catch {
          // absent, or not readable from here
        }
      }
      const parent = dir.slice(0, dir.lastIndexOf("/"));
      if (parent === dir || parent === "") break;
      dir = parent;
    }
  }
  return [];
}

function directoryOf(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

/** The `--allow-*` flags for `permissions` (see {@linkcode ProcessLinkOptions.permissions}). */
function permissionFlags(permissions: Deno.PermissionOptions | undefined, name: string): string[] {
  if (permissions === undefined || permissions === "none") return [];
  if (permissions === "inherit") {
    const held = PERMISSION_NAMES.filter(heldWhole);
    return held.length === PERMISSION_NAMES.length ? ["-A"] : held.map((p) => `--allow-${p}`);
  }
  if (typeof permissions !== "object" || permissions === null) {
    throw new TypeError(
      `Cannot start ${name}: permissions must be "inherit", "none" or an object, received ${
        String(permissions)
      }`,
    );
  }
  const flags: string[] = [];
  for (const [key, value] of Object.entries(permissions)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(key)) {
      throw new TypeError(`Cannot start ${name}: unknown permission "${key}"`);
    }
    const permission = key as PermissionName;
    if (value === undefined || value === false) continue;
    if (value === true) {
      flags.push(`--allow-${permission}`);
    } else if (value === "inherit") {
      if (heldWhole(permission)) flags.push(`--allow-${permission}`);
    } else if (Array.isArray(value)) {
      if (value.length === 0) continue;
      const items = value.map((item: unknown) => {
        const text = item instanceof URL ? fileUrlPath(item, permission, name) : item;
        if (typeof text !== "string" || text === "" || text.includes(",")) {
          throw new TypeError(
            `Cannot start ${name}: permissions.${permission} holds ${
              JSON.stringify(String(text))
            }, which cannot be passed as a flag (empty, not a string, or with a comma)`,
          );
        }
        return text;
      });
      flags.push(`--allow-${permission}=${items.join(",")}`);
    } else {
      throw new TypeError(
        `Cannot start ${name}: permissions.${permission} must be a boolean, "inherit" or a list, received ${
          JSON.stringify(value)
        }`,
      );
    }
  }
  return flags;
}

/** Whether this process holds `permission` for every path or host. */
function heldWhole(permission: PermissionName): boolean {
  return Deno.permissions.querySync({ name: permission }).state === "granted";
}

function fileUrlPath(url: URL, permission: PermissionName, name: string): string {
  if (url.protocol !== "file:") {
    throw new TypeError(`Cannot start ${name}: permissions.${permission} holds ${url.href}`);
  }
  return decodeURIComponent(url.pathname);
}
