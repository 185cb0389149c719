// Formatting for the printed figures: numbers, a plain-text table, and ratios.

export const fmt = {
  int: (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString("en-US") : "n/a"),
  fixed: (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a"),
  ratio: (ours: number, theirs: number) =>
    Number.isFinite(ours) && Number.isFinite(theirs) && theirs > 0 ? `${(ours / theirs).toFixed(2)}x` : "n/a",
};

/** Renders rows under a header as aligned columns separated by " | "; the first column is left-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join(" | ");
  const rule = widths.map((width) => "-".repeat(width)).join("-|-");
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** "key  value" lines with the values aligned. */
export function block(entries: Array<[string, string]>): string {
  const width = Math.max(...entries.map(([key]) => key.length));
  return entries.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join("\n");
}
