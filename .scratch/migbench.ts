// Ad-hoc: time importSqliteIndex + the index comparison on a synthetic index of N blobs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgres } from '../test/helpers/postgres.ts';
import { openPostgresPool } from '../src/store/postgres.ts';
import { importSqliteIndex } from '../src/store/postgres-import.ts';
import { PostgresMetaStore } from '../src/store/postgres-meta-store.ts';
import { SqliteMetaStore } from '../src/store/sqlite-meta-store.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const SNAPSHOTS = Number(process.argv[3] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'migbench-'));
const path = join(dir, 'index.sqlite');
const meta = new SqliteMetaStore(path);
const ids: string[] = [];
const PER_PACK = 20_000;
let t = performance.now();
for (let p = 0; p * PER_PACK < N; p++) {
  const entries = [];
  for (let i = 0; i < PER_PACK && p * PER_PACK + i < N; i++) {
    const id = randomBytes(32).toString('hex');
    ids.push(id);
    entries.push({ id, type: (i % 50 === 0 ? 'tree' : 'data') as 'tree' | 'data', offset: i * 1000, length: 1000 });
  }
  await meta.indexPacks([{ id: randomBytes(32).toString('hex'), size: entries.length * 1000 + 100, entries }], Date.now());
}
const snaps: string[] = [];
for (let s = 0; s < SNAPSHOTS; s++) {
  const snapId = randomBytes(32).toString('hex');
  await meta.indexPacks([{ id: randomBytes(32).toString('hex'), size: 200, entries: [{ id: snapId, type: 'snapshot', offset: 0, length: 100 }] }], Date.now());
  // Each snapshot references 95% of the blobs (a home folder changing slowly).
  const start = Math.floor((s * N) / (SNAPSHOTS * 20));
  const refs = ids.slice(start, start + Math.floor(N * 0.95));
  await meta.commitSnapshot({ id: snapId, time: new Date(Date.UTC(2030, 0, 1 + s)).toISOString(), device: 'laptop', sources: [{ id: 'aa'.repeat(16), tree: refs[0], logicalSize: refs.length * 2000, refs }] }, undefined);
  snaps.push(snapId);
}
await meta.close();
ids.length = 0;
console.log(`rss before ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
console.log(`built ${N} blobs, ${SNAPSHOTS} snapshots in ${((performance.now() - t) / 1000).toFixed(1)} s`);
const cluster = await startPostgres();
const pool = openPostgresPool(await cluster.database());
const account = 'e'.repeat(32);
for (let run = 0; run < 3; run++) {
  t = performance.now();
  const counts = await importSqliteIndex(pool, account, path);
  const importS = (performance.now() - t) / 1000;
  console.log(`after import rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)}`);
  t = performance.now();
  const source = new SqliteMetaStore(path);
  const target = new PostgresMetaStore(pool, account);
  const a = await source.storageBreakdown();
  const b = await target.storageBreakdown();
  const ok = JSON.stringify(a) === JSON.stringify(b);
  const verifyS = (performance.now() - t) / 1000;
  await source.close();
  const rss = process.memoryUsage().rss / 2 ** 20;
  console.log(`run ${run + 1}: import ${importS.toFixed(1)} s (${Math.round(counts.blobs / importS)} blobs/s), breakdown both ${verifyS.toFixed(1)} s ok=${ok}, rss ${rss.toFixed(0)} MiB, load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
}
await pool.end();
await cluster.stop();
