// What the status bar item says: the server's `autan/status` (see server/lsp.py), the client's
// own states (starting, stopped, disabled), the last request's timings from `autan/stats`, and
// the text streaming in. Pure: the glue in statusBar.ts puts the strings on the item.

export type ServerState = "indexing" | "ready" | "generating" | "error";
export type State = ServerState | "starting" | "stopped" | "disabled";

export interface Status {
  state: State;
  message: string;
  percentage?: number;
}

const SERVER_STATES: readonly string[] = ["indexing", "ready", "generating", "error"];

/** An `autan/status` notification's params, or undefined when they are not one. */
export function parseStatus(params: unknown): Status | undefined {
  if (typeof params !== "object" || params === null) {
    return undefined;
  }
  const { state, message, percentage } = params as Record<string, unknown>;
  if (typeof state !== "string" || !SERVER_STATES.includes(state)) {
    return undefined;
  }
  const status: Status = { state: state as ServerState, message: typeof message === "string" ? message : "" };
  if (typeof percentage === "number" && Number.isFinite(percentage)) {
    status.percentage = Math.max(0, Math.min(100, Math.round(percentage)));
  }
  return status;
}

export interface ItemView {
  text: string; // with codicons, e.g. "$(sync~spin) autan 42%"
  label: string; // the state in words, first line of the tooltip
  alarm: boolean; // error background
}

/** `here`: why the active document gets nothing (see exclusions.ts), shown over "ready". */
export function itemView(status: Status, here?: string): ItemView {
  switch (status.state) {
    case "starting":
      return { text: "$(loading~spin) autan", label: "Starting the server", alarm: false };
    case "indexing": {
      const pct = status.percentage === undefined ? "" : ` ${status.percentage}%`;
      return { text: `$(sync~spin) autan${pct}`, label: `Indexing${pct} ${status.message}`.trim(), alarm: false };
    }
    case "generating":
      return { text: "$(loading~spin) autan", label: "Generating", alarm: false };
    case "error":
      return { text: "$(error) autan", label: `Error: ${status.message}`, alarm: true };
    case "stopped":
      return { text: "$(debug-disconnect) autan", label: `Server stopped ${status.message}`.trim(), alarm: true };
    case "disabled":
      return { text: "$(circle-slash) autan", label: "Disabled", alarm: false };
    case "ready":
      return here
        ? { text: "$(circle-slash) autan", label: `Not here: ${here}`, alarm: false }
        : { text: "$(sparkle) autan", label: status.message ? `Ready (${status.message})` : "Ready", alarm: false };
  }
}

/** The fields of one `autan/stats` `recent` entry that the tooltip shows. */
export interface RecentRequest {
  from_cache?: boolean;
  prompt_tokens?: number;
  cached_tokens?: number;
  generated_tokens?: number;
  timings_ms?: Record<string, number>;
}

const TIMING_ORDER = ["total", "context", "prompt", "ttft", "engine_ttft", "queue", "decode"];

function ms(value: number): string {
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

/** "total 212 ms · context 8.1 ms · ..." and the token counts of the last request. */
export function timingsLine(recent: RecentRequest | undefined): string | undefined {
  const timings = recent?.timings_ms;
  if (!recent || !timings) {
    return undefined;
  }
  const known = TIMING_ORDER.filter((k) => typeof timings[k] === "number");
  const parts = known.map((k) => `${k} ${ms(timings[k])}`);
  if (recent.from_cache) {
    parts.push("from the type-ahead cache");
  } else if (typeof recent.prompt_tokens === "number") {
    parts.push(
      `${recent.prompt_tokens} prompt tokens (${recent.cached_tokens ?? 0} cached), ` +
        `${recent.generated_tokens ?? 0} generated`,
    );
  }
  return parts.length ? parts.join(" · ") : undefined;
}

/** Markdown-safe code fence for streamed text (which may contain backticks). */
function fenced(text: string): string {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}\n${text}\n${fence}`;
}

export const STREAM_PREVIEW_CHARS = 400;

/** The tooltip, as Markdown: state, last request, streaming text, and what a click does. */
export function tooltipMarkdown(view: ItemView, lastRequest?: string, streaming?: string): string {
  const lines = [`**autan**: ${view.label}`];
  if (lastRequest) {
    lines.push("", `Last request: ${lastRequest}`);
  }
  if (streaming) {
    const tail = streaming.length > STREAM_PREVIEW_CHARS
      ? `…${streaming.slice(-STREAM_PREVIEW_CHARS)}`
      : streaming;
    lines.push("", "Streaming:", "", fenced(tail));
  }
  lines.push("", "Click for actions: toggle, restart, statistics, log.");
  return lines.join("\n");
}

/** One line summarising `autan/stats` for a notification. */
export function statsSummary(stats: Record<string, unknown>): string {
  const num = (v: unknown) => (typeof v === "number" ? v : 0);
  const acceptance = (stats.acceptance ?? {}) as Record<string, unknown>;
  const rate = typeof acceptance.rate === "number" ? `${Math.round(acceptance.rate * 100)}%` : "n/a";
  const recent = Array.isArray(stats.recent) ? (stats.recent as RecentRequest[]) : [];
  const last = timingsLine(recent[recent.length - 1]);
  return (
    `autan: ${num(stats.requests)} requests, ${num(stats.answered)} answered, ` +
    `${num(stats.cache_hits)} from cache; ${num(acceptance.shown)} shown, ` +
    `${num(acceptance.accepted)} accepted (${rate}), ` +
    `${num(acceptance.partially_accepted)} partly, ${num(acceptance.accepted_chars)} characters` +
    (last ? `. Last: ${last}` : "")
  );
}
