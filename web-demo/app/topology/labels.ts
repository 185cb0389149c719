// Placing a peer's label where it overlaps nothing: beside the dot, on the side facing away from the
// centre, or further out, or shifted along, whichever candidate first clears every label, dot and relay
// placed before it. Text widths are estimated from character counts (the layout runs before anything
// is drawn); the estimates err wide, so a label that fits on paper fits on screen.

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Label {
  /** Where the text starts (anchor start), ends (end) or is centred (middle); y of the first baseline. */
  x: number;
  y: number;
  anchor: "start" | "middle" | "end";
  lines: string[];
  box: Box;
}

/** Line height, and estimated character widths: the first line (the name, bold 13px), then 11px. */
export const LINE = 14;
const NAME_CHAR = 7.6;
const DETAIL_CHAR = 6.4;
const GAP = 13;

export function labelWidth(lines: readonly string[]): number {
  return Math.max(0, ...lines.map((line, i) => line.length * (i === 0 ? NAME_CHAR : DETAIL_CHAR)));
}

export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/** The first candidate spot for a label of `lines` next to `at` (facing `angle`) that clears `obstacles`. */
export function placeLabel(
  at: { x: number; y: number },
  angle: number,
  lines: string[],
  obstacles: readonly Box[],
): Label {
  const candidates = candidatesFor(at, angle, lines);
  const clear = candidates.find((label) => !obstacles.some((box) => overlaps(label.box, box)));
  return clear ?? candidates[0]!;
}

function candidatesFor(at: { x: number; y: number }, angle: number, lines: string[]): Label[] {
  const width = labelWidth(lines);
  const height = lines.length * LINE + 2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const labels: Label[] = [];
  const make = (x: number, top: number, anchor: Label["anchor"]): Label => {
    const left = anchor === "start" ? x : anchor === "end" ? x - width : x - width / 2;
    return { x, y: top + LINE - 3, anchor, lines, box: { x: left - 2, y: top, width: width + 4, height } };
  };
  if (Math.abs(cos) >= 0.38) {
    const anchor = cos > 0 ? "start" : "end";
    const direction = cos > 0 ? 1 : -1;
    const middle = at.y - height / 2;
    for (const out of [0, 24, 48]) {
      for (const dy of [0, -16, 16, -32, 32, -48, 48])
        labels.push(make(at.x + direction * (GAP + out), middle + dy, anchor));
    }
  } else {
    const up = sin < 0;
    for (const out of [0, 16, 32, 48, 64]) {
      for (const dx of [0, -40, 40, -80, 80]) {
        const top = up ? at.y - GAP - height - out : at.y + GAP + out;
        labels.push(make(at.x + dx, top, "middle"));
      }
    }
  }
  return labels;
}
