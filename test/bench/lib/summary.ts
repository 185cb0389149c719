// The end of a run: one table with a row per figure of issue 10 (iris-mesh, its baseline from the same
// run, the ratio and the goal), and the zero-loss matrix. Both are read at a glance; the details of each
// scenario are printed above them as it ends.

import type { CpuPerUnit } from "./cpu.ts";
import { fmt, table } from "./report.ts";
import type { LossCell, SummaryRow } from "./scenario.ts";

export function summaryTable(rows: SummaryRow[]): string {
  const met = (row: SummaryRow) => {
    if (!row.goal) return "";
    const verdict = row.goal.met === null ? "" : row.goal.met ? " (met)" : " (NOT met)";
    return row.goal.text + verdict;
  };
  const cpu = (value: number | undefined) => (value === undefined ? "" : fmt.fixed(value));
  return table(
    ["figure", "iris-mesh", "vs", "baseline", "ratio", "goal", "CPU µs/msg ours", "baseline's", "CPU ratio"],
    rows.map((row) => [
      row.figure,
      row.ours,
      row.versus,
      row.baseline,
      row.versus ? fmt.ratio(row.ratio, 1) : "",
      met(row),
      cpu(row.cpu?.ours),
      row.versus ? cpu(row.cpu?.baseline) : "",
      row.cpu && row.versus ? fmt.ratio(row.cpu.ours, row.cpu.baseline) : "",
    ]),
  );
}

/**
 * The zero-loss matrix: for each route and number of subscribers, every round's measured messages
 * received out of those sent, subscriber by subscriber, and the drops.
 */
export function lossMatrix(cells: LossCell[]): string[] {
  if (!cells.length) return [];
  const lines = [
    "zero loss at full publisher speed: measured messages each subscriber received / published, per round",
  ];
  const labelOf = (cell: LossCell) =>
    `${cell.system}, ${cell.subscribers} subscriber${cell.subscribers === 1 ? "" : "s"}`;
  const width = Math.max(...cells.map((cell) => labelOf(cell).length));
  for (const cell of cells) {
    const label = labelOf(cell);
    const rounds = cell.rounds.map((round, index) => {
      const whole = round.received.every((received) => received >= round.sent);
      const each = whole
        ? `all ${fmt.int(round.sent)}`
        : round.received.map((received) => `${fmt.int(received)}`).join(", ") + ` of ${fmt.int(round.sent)}`;
      const drops = round.drops ? `, ${fmt.int(round.drops)} DROP${round.drops === 1 ? "" : "S"}` : "";
      return `round ${index + 1}: ${each}${drops}`;
    });
    const lost = cell.rounds.some((round) => round.received.some((received) => received < round.sent));
    const dropped = cell.rounds.some((round) => round.drops > 0);
    const verdict = lost ? "LOSS " : dropped ? "DROPS" : "none ";
    lines.push(`  ${label.padEnd(width)}  ${verdict}  ${rounds.join("; ")}`);
    const reasons = [...new Set(cell.rounds.flatMap((round) => round.reasons))];
    if (reasons.length) lines.push(`  ${"".padEnd(width)}         drops: ${reasons.slice(0, 4).join("; ")}`);
  }
  return lines;
}

/** The worst subscriber's share over every round of a cell (1 = nothing lost), and the drops in all. */
export function worstShare(cell: LossCell): { share: number; drops: number } {
  let share = 1;
  let drops = 0;
  for (const round of cell.rounds) {
    drops += round.drops;
    for (const received of round.received) share = Math.min(share, round.sent > 0 ? received / round.sent : NaN);
  }
  return { share: cell.rounds.length ? share : NaN, drops };
}

/** "publisher 12.1 + relay 9.8 + subscriber 19.0 = 40.9", processes in the order measured. */
export function cpuBreakdown(cpu: CpuPerUnit): string {
  const parts = cpu.perProcess.map(({ name, micros }) => `${name} ${fmt.fixed(micros)}`);
  return `${parts.join(" + ")} = ${fmt.fixed(cpu.total)}`;
}
