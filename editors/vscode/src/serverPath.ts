// Where the `autan` executable is: the `autan.serverPath` setting, else a `.venv` of a
// workspace folder (what quickstart.sh makes), else `autan` on PATH. Pure: the file system
// and the environment come in as arguments, so the unit tests can drive every case.

import * as path from "node:path";

export interface ServerLocation {
  command: string;
  source: "setting" | "workspace" | "PATH";
}

export interface Missing {
  /** Every place looked at, for the notification and the log. */
  tried: string[];
}

export interface Lookup {
  setting: string | undefined;
  folders: string[]; // workspace folder paths, in order
  envPath: string; // $PATH
  home: string;
  platform: NodeJS.Platform;
  isExecutable: (file: string) => boolean;
}

function venvExecutable(folder: string, platform: NodeJS.Platform): string {
  return platform === "win32"
    ? path.join(folder, ".venv", "Scripts", "autan.exe")
    : path.join(folder, ".venv", "bin", "autan");
}

/** `~/x` and paths relative to the first workspace folder, as users write them in settings. */
export function expandSetting(setting: string, folders: string[], home: string): string {
  if (setting === "~" || setting.startsWith("~/")) {
    return path.join(home, setting.slice(1));
  }
  if (path.isAbsolute(setting) || folders.length === 0) {
    return setting;
  }
  // A bare name ("autan") is looked up on PATH, like a shell would; "bin/autan" is a path.
  return setting.includes("/") || setting.includes("\\") ? path.join(folders[0], setting) : setting;
}

function onPath(name: string, lookup: Lookup, tried: string[]): string | undefined {
  const exts = lookup.platform === "win32" ? [".exe", ".cmd", ""] : [""];
  for (const dir of lookup.envPath.split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const candidate = path.join(dir, name + ext);
      if (lookup.isExecutable(candidate)) {
        return candidate;
      }
    }
  }
  tried.push(`${name} on PATH`);
  return undefined;
}

export function findServer(lookup: Lookup): ServerLocation | Missing {
  const tried: string[] = [];
  if (lookup.setting) {
    const wanted = expandSetting(lookup.setting, lookup.folders, lookup.home);
    if (!path.isAbsolute(wanted)) {
      const found = onPath(wanted, lookup, tried);
      return found ? { command: found, source: "setting" } : { tried };
    }
    if (lookup.isExecutable(wanted)) {
      return { command: wanted, source: "setting" };
    }
    // A setting that names a missing file is an error to fix, not a cue to run another one.
    return { tried: [`${wanted} (autan.serverPath)`] };
  }
  for (const folder of lookup.folders) {
    const candidate = venvExecutable(folder, lookup.platform);
    if (lookup.isExecutable(candidate)) {
      return { command: candidate, source: "workspace" };
    }
    tried.push(candidate);
  }
  const found = onPath("autan", lookup, tried);
  return found ? { command: found, source: "PATH" } : { tried };
}

/** The one notification a missing server gets: what was tried and how to fix it. */
export function missingMessage(missing: Missing): string {
  return (
    `autan: the language server was not found (looked for ${missing.tried.join(", ")}). ` +
    "Install autan on PATH or in the workspace's .venv (./quickstart.sh in the autan " +
    "repository makes .venv/bin/autan), or set autan.serverPath to the autan executable."
  );
}
