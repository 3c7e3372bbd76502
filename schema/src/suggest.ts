/**
 * "Did you mean": the known name closest to a mistyped one, by edit distance (insertions, deletions,
 * substitutions and swaps of neighbours each cost 1, case ignored). A name is suggested only when it
 * is close enough to be the likely intent: at most 1 edit for names up to 4 characters, 2 up to 8,
 * 3 beyond (`autoscalr` → `autoscaler`: 1; `gpus` → `gpu`: 1; `memroy` → `memory`: 1 swap), and only
 * when no other name is as close (two equally close candidates suggest neither).
 */

/** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring). */
export function editDistance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate `typed` most likely meant, or undefined. */
export function closest(typed: string, candidates: Iterable<string>): string | undefined {
  const limit = typed.length <= 4 ? 1 : typed.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  let tie = false;
  for (const c of candidates) {
    if (c === typed) continue;
    const dist = editDistance(typed, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
      tie = false;
    } else if (dist === bestDistance) tie = true;
  }
  return best !== undefined && bestDistance <= limit && !tie ? best : undefined;
}

/** `; did you mean "x"?` or "". */
export function didYouMean(typed: string, candidates: Iterable<string>): string {
  const c = closest(typed, candidates);
  return c === undefined ? "" : `; did you mean "${c}"?`;
}
