// The relay's TLS material, read from the files its settings name: the certificate chain and key it
// serves wss:// with, and the CA certificates it trusts when it dials wss:// relays. Read and checked
// before anything listens (and by --check-config), so a wrong path, a key that does not match its
// certificate or a file that is not PEM is an error naming the setting, not a failed handshake later.

import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { createSecureContext } from "node:tls";
import { ConfigError } from "./config.ts";
import type { RelayServerConfig } from "./config.ts";
import { SETTINGS } from "./settings.ts";
import type { SettingKey } from "./settings.ts";

export interface RelayTls {
  /** What the listener serves wss:// with; null: plain ws://. */
  server: { cert: string; key: string } | null;
  /** Extra CA certificates for dialing wss:// relays; null: Node's bundled roots only. */
  ca: string | null;
  /** When the served certificate expires (for the log and the metrics). */
  expires: Date | null;
}

function named(key: SettingKey): string {
  const setting = SETTINGS[key];
  return `${setting.flag} (${setting.env}, "${key}")`;
}

export function loadTls(
  config: Pick<RelayServerConfig, "tlsCert" | "tlsKey" | "tlsCa">,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): RelayTls {
  const problems: string[] = [];
  const read = (key: "tlsCert" | "tlsKey" | "tlsCa"): string | null => {
    const path = config[key];
    if (path === null) return null;
    try {
      return readFile(path);
    } catch (error) {
      problems.push(`${named(key)}: cannot read ${path}: ${(error as Error).message}`);
      return null;
    }
  };
  const cert = read("tlsCert");
  const key = read("tlsKey");
  const ca = read("tlsCa");
  let expires: Date | null = null;
  if (cert !== null) {
    try {
      expires = new Date(new X509Certificate(cert).validTo);
    } catch {
      problems.push(`${named("tlsCert")}: ${config.tlsCert} holds no PEM certificate`);
    }
  }
  if (key !== null) {
    try {
      createPrivateKey(key);
    } catch {
      // The message would say nothing the operator can act on; the path says where to look.
      problems.push(`${named("tlsKey")}: ${config.tlsKey} holds no PEM private key`);
    }
  }
  if (ca !== null) {
    try {
      new X509Certificate(ca);
    } catch {
      problems.push(`${named("tlsCa")}: ${config.tlsCa} holds no PEM certificate`);
    }
  }
  if (problems.length === 0 && cert !== null && key !== null) {
    try {
      createSecureContext({ cert, key });
    } catch (error) {
      problems.push(
        `${named("tlsKey")} does not match the certificate of ${named("tlsCert")}: ${(error as Error).message}`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { server: cert !== null && key !== null ? { cert, key } : null, ca, expires };
}
