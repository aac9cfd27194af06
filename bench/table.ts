/** Tables: the same rows rendered as aligned text for a terminal or as Markdown for the README. */

/** Column is a header and how its cells align. */
export interface Column {
  header: string;
  align: 'left' | 'right';
}

/** renderTable returns the table as Markdown (GitHub pipes) or as space-aligned text. */
export function renderTable(columns: Column[], rows: string[][], markdown: boolean): string {
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
    const rule = columns.map((column) => (column.align === 'right' ? '---:' : '---'));
    return [line(columns.map((column) => column.header)), `| ${rule.join(' | ')} |`, ...rows.map(line)].join(
      '\n',
    );
  }
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (columns[i].align === 'right' ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((column) => column.header)),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
  ].join('\n');
}
