/** How the benchmark summarises its rounds and prints them: spreads and markdown tables. */

/** The smallest, middle and largest of one figure over the rounds. */
export interface Spread {
  min: number;
  median: number;
  max: number;
}

export function spread(values: readonly number[]): Spread {
  const sorted = values.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return { min: Number.NaN, median: Number.NaN, max: Number.NaN };
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { min: sorted[0] ?? 0, median, max: sorted.at(-1) ?? 0 };
}

/**
 * Ratios of `numerators` to `denominators` round by round (the i-th of each was measured side by
 * side, so the machine's load moved both alike), spread over the rounds.
 */
export function ratioSpread(numerators: readonly number[], denominators: readonly number[]) {
  return spread(numerators.map((value, i) => value / (denominators[i] ?? Number.NaN)));
}

/** The median, and the range over the rounds when they differ: `12.3 (11.9–13.0)`. */
export function show({ min, median, max }: Spread, digits: number): string {
  if (Number.isNaN(median)) return '–';
  if (min.toFixed(digits) === max.toFixed(digits)) return median.toFixed(digits);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

/** A markdown table: the first column left-aligned (names), the others right-aligned (figures). */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]) {
  return [
    `| ${header.join(' | ')} |`,
    `|---|${header
      .slice(1)
      .map(() => '---:')
      .join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');
}
