import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gnuTimeMissing, measure } from './tools.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-tools-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const skip = gnuTimeMissing();

test('measure reports the peak RSS of the child, not of the benchmark', { skip }, async () => {
  const hold = 'const b = Buffer.alloc(200e6, 1); setTimeout(() => console.log(b[5]), 50);';
  const big = await measure([process.execPath, '-e', hold], {
    env: process.env,
    logFile: join(dir, 'big.log'),
  });
  const small = await measure([process.execPath, '-e', '0'], {
    env: process.env,
    logFile: join(dir, 'small.log'),
  });
  assert.ok(big.peakRssBytes > 200e6, `${big.peakRssBytes}`);
  assert.ok(small.peakRssBytes < 150e6, `${small.peakRssBytes}`);
  assert.ok(big.wallSeconds >= 0.05 && big.cpuSeconds > 0);
});

test('measure rejects with the exit status and the end of the output when the command fails', {
  skip,
}, async () => {
  const fail = 'console.error("repository is locked"); process.exit(3)';
  await assert.rejects(
    measure([process.execPath, '-e', fail], { env: process.env, logFile: join(dir, 'fail.log') }),
    /exited with 3[\s\S]*repository is locked/,
  );
});
