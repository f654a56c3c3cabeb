// The `autan.*` settings: which belong to the server, which to this extension only.
//
// The server reports every key it does not know as an invalid setting (with a pop-up), so the
// client-only keys must never reach it: not in initializationOptions, not in the answer to
// workspace/configuration. Pure: no `vscode` import, so the unit tests can drive it.

export const SECTION = "autan";

/** Keys read by the extension itself; the server would reject them as unknown. */
export const CLIENT_ONLY_KEYS = ["enable", "triggerMode", "exclude", "serverPath"] as const;

/** Top-level keys of the server's options (server/options.py `ServerOptions`, camelCase). */
export const SERVER_KEYS = ["model", "completion", "languages", "streamProgress"] as const;

export type TriggerMode = "automatic" | "manual";

export interface ClientSettings {
  enable: boolean;
  triggerMode: TriggerMode;
  exclude: string[];
  serverPath: string | undefined;
  streamProgress: boolean;
  languages: string[] | null;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A plain JSON copy: VS Code's configuration objects carry methods (`get`, `has`, ...). */
function toJson(value: unknown): Json | undefined {
  if (value === null || ["boolean", "number", "string"].includes(typeof value)) {
    return value as Json;
  }
  if (Array.isArray(value)) {
    return value.map((v) => toJson(v) ?? null);
  }
  if (isObject(value)) {
    const out: { [key: string]: Json } = {};
    for (const [key, v] of Object.entries(value)) {
      const json = toJson(v);
      if (json !== undefined) {
        out[key] = json;
      }
    }
    return out;
  }
  return undefined; // functions, undefined
}

/** The server's part of the "autan" section: only the keys the server knows. Anything else
 * (client-only keys, or keys a newer extension adds) is dropped rather than sent, since the
 * server would warn about each. */
export function serverSettings(section: unknown): Record<string, Json> {
  const json = toJson(section);
  const out: Record<string, Json> = {};
  if (!isObject(json)) {
    return out;
  }
  for (const key of SERVER_KEYS) {
    if (key in json) {
      out[key] = json[key] as Json;
    }
  }
  return out;
}

/** The extension's own settings, with the defaults package.json declares for bad values. */
export function clientSettings(get: (key: string) => unknown): ClientSettings {
  const mode = get("triggerMode");
  const exclude = get("exclude");
  const serverPath = get("serverPath");
  const languages = get("languages");
  return {
    enable: get("enable") !== false,
    triggerMode: mode === "manual" ? "manual" : "automatic",
    exclude: Array.isArray(exclude) ? exclude.filter((g): g is string => typeof g === "string") : [],
    serverPath: typeof serverPath === "string" && serverPath.trim() ? serverPath.trim() : undefined,
    streamProgress: get("streamProgress") !== false,
    languages: Array.isArray(languages)
      ? languages.filter((l): l is string => typeof l === "string")
      : null,
  };
}

/** Which consequence a changed setting has; `affects` is VS Code's `affectsConfiguration`. */
export function changeEffect(affects: (section: string) => boolean): {
  restart: boolean;
  notifyServer: boolean;
  refreshClient: boolean;
} {
  const key = (k: string) => affects(`${SECTION}.${k}`);
  return {
    restart: key("serverPath"),
    notifyServer: SERVER_KEYS.some(key),
    refreshClient: CLIENT_ONLY_KEYS.some(key) || key("languages") || key("streamProgress"),
  };
}
