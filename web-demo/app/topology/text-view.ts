// The topology in words, for screen readers and for anyone who prefers text: the clusters and topics
// with their members, and the peers as a table.

import { el } from "../dom.ts";
import type { Names } from "../names.ts";
import type { PeerNames } from "../peer-names.ts";
import type { Topology } from "./model.ts";

export function renderText(
  topology: Topology,
  names: Names,
  peers: PeerNames,
  table: HTMLElement,
  services: HTMLElement,
): void {
  const relayOf = new Map(topology.relays.map((relay) => [relay.key, relay]));
  const direct = new Set(
    topology.edges.filter((edge) => edge.kind === "direct").flatMap((edge) => [edge.from, edge.to]),
  );
  const visible = (ids: string[]) => ids.filter((id) => !names.hidden(id)).map((id) => names.label(id));
  table.replaceChildren(
    ...topology.peers.map((peer) =>
      el(
        "tr",
        { "data-peer-id": peer.id },
        el(
          "td",
          {},
          `${peers.name(peer.id)}${peer.self ? " (this tab)" : ""}${peer.stale ? ` (${peer.stale.why})` : ""}`,
        ),
        el("td", {}, peer.agent),
        el("td", {}, relayOf.get(peer.relay)?.name ?? peer.relay),
        el("td", {}, visible(peer.clusters).join(", ") || "–"),
        el("td", {}, visible(peer.topics).join(", ") || "–"),
        el("td", {}, direct.has(peer.id) ? "yes, with this tab" : "–"),
      ),
    ),
  );
  const items = topology.services
    .filter((service) => !names.hidden(service.id))
    .map((service) => {
      const count = service.peers.length;
      const noun =
        service.kind === "cluster" ? (count === 1 ? "member" : "members") : count === 1 ? "subscriber" : "subscribers";
      return el(
        "li",
        { "data-service-id": service.id, "data-kind": service.kind },
        el("strong", {}, names.label(service.id)),
        ` (${service.kind}): ${count} ${noun}: ${service.peers.map((id) => peers.name(id)).join(", ")}`,
      );
    });
  services.replaceChildren(...(items.length > 0 ? items : [el("li", {}, "No clusters or topics yet.")]));
}
