// What `npm start` runs, from the environment: where the relays listen, how many there are, where the
// dashboard is served. Local defaults, each overridable, and 0 meaning "any free port" so tests can run
// the whole stack beside anything else.

/** The relay's own levels (relay-server/settings.ts), least severe first. */
export const RELAY_LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type RelayLogLevel = (typeof RELAY_LOG_LEVELS)[number];

export interface StackSettings {
  host: string;
  /** One port per relay; the first relay seeds the others. 0 picks a free port. */
  relayPorts: number[];
  /** The dashboard's HTTP port; 0 picks a free one. */
  dashboardPort: number;
  /** ICE candidate addresses the dashboard's direct links may use; null for all. */
  candidates: string[] | null;
  /** Run the short tour (a client using every pattern once) after start. */
  tour: boolean;
  /** Offer relay stop and restart on the dashboard (development mode, the default). */
  controls: boolean;
  /** The least severe relay log lines shown on this terminal (the relays' own levels). */
  relayLogs: RelayLogLevel;
}

export const STACK_HELP = `npm start: a backbone of relays, the demo's Node peers and the dashboard, on 127.0.0.1.

Environment:
  IRIS_PORT            the first relay's port; the others take the next ones (default 7600; 0: free ports
                       for everything, the dashboard included)
  IRIS_RELAYS          how many relays (default 3)
  IRIS_DASHBOARD_PORT  the dashboard's port (default IRIS_PORT + 80, so 7680; 0 picks a free one)
  IRIS_HOST            the address everything listens on (default 127.0.0.1)
  IRIS_DASHBOARD_CANDIDATES  addresses the dashboard's direct WebRTC links may use, comma-separated
                       (default: all; tests keep them to 127.0.0.1)
  IRIS_TOUR            0 skips the tour of every pattern at start
  IRIS_CONTROLS        0 takes the relay stop and restart buttons off the dashboard (they answer
                       only on this machine, and are on by default: this is a development stack)
  IRIS_LOG_LEVEL       relay log lines on this terminal from this level: warn (the default here: what
                       needs a look), info (links and listening), debug (every peer), error or silent

Each relay runs as its own process (relay-server/cli.ts); Ctrl-C or SIGTERM stops them all.
`;

/** Whether a relay line at `level` shows when the terminal shows `least` and more severe. */
export function shown(level: string, least: RelayLogLevel): boolean {
  if (least === "silent") return false;
  const rank = (name: string) =>
    name === "fatal" ? RELAY_LOG_LEVELS.length : RELAY_LOG_LEVELS.indexOf(name as RelayLogLevel);
  return rank(level) >= rank(least);
}

export class SettingsError extends Error {}

export function stackSettings(env: Record<string, string | undefined>): StackSettings {
  const base = port("IRIS_PORT", env.IRIS_PORT, 7600);
  const count = integer("IRIS_RELAYS", env.IRIS_RELAYS, 3, 1, 16);
  const relayPorts = Array.from({ length: count }, (_, i) => (base === 0 ? 0 : base + i));
  const last = relayPorts[relayPorts.length - 1]!;
  if (last > 65535) throw new SettingsError(`IRIS_PORT ${base} leaves no room for ${count} relays`);
  const dashboardPort = port("IRIS_DASHBOARD_PORT", env.IRIS_DASHBOARD_PORT, base === 0 ? 0 : base + 80);
  if (dashboardPort !== 0 && relayPorts.includes(dashboardPort)) {
    throw new SettingsError(`IRIS_DASHBOARD_PORT ${dashboardPort} is a relay's port`);
  }
  return {
    host: env.IRIS_HOST || "127.0.0.1",
    relayPorts,
    dashboardPort,
    candidates: env.IRIS_DASHBOARD_CANDIDATES
      ? env.IRIS_DASHBOARD_CANDIDATES.split(",")
          .map((a) => a.trim())
          .filter(Boolean)
      : null,
    tour: env.IRIS_TOUR !== "0",
    controls: env.IRIS_CONTROLS !== "0",
    relayLogs: logLevel(env.IRIS_LOG_LEVEL),
  };
}

function logLevel(text: string | undefined): RelayLogLevel {
  // Warnings only by default: the stack says itself when a relay comes and goes, and a first run's
  // terminal should read as the demo's story, not as three relays' logs.
  if (text === undefined || text === "") return "warn";
  const level = RELAY_LOG_LEVELS.find((known) => known === text);
  if (level) return level;
  throw new SettingsError(`IRIS_LOG_LEVEL must be one of ${RELAY_LOG_LEVELS.join(", ")}, not ${JSON.stringify(text)}`);
}

function port(name: string, text: string | undefined, fallback: number): number {
  return integer(name, text, fallback, 0, 65535);
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SettingsError(`${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return value;
}
