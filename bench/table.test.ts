import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTable } from './table.ts';

const columns = [
  { header: 'tool', align: 'left' as const },
  { header: 'MB/s', align: 'right' as const },
];

test('renderTable writes Markdown a README can take verbatim, right-aligning numbers', () => {
  const text = renderTable(
    columns,
    [
      ['restic', '98.1'],
      ['a|b', '7'],
    ],
    true,
  );
  assert.equal(text, '| tool | MB/s |\n| --- | ---: |\n| restic | 98.1 |\n| a\\|b | 7 |');
});

test('renderTable aligns text columns to the widest cell', () => {
  const text = renderTable(
    columns,
    [
      ['restic', '98.1'],
      ['borg', '7'],
    ],
    false,
  );
  assert.deepEqual(text.split('\n'), ['tool    MB/s', '------  ----', 'restic  98.1', 'borg       7']);
});
