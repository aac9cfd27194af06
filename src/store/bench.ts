/**
 * Store benchmark: `npx node src/store/bench.ts [refs]`. Measures a snapshot commit of a
 * million references, missingBlobs of 100,000 IDs, usage and breakdown over them, and a
 * rebuild of the index from 1,000 pack files, on a real SQLite file and folder.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { PackEntry } from '../core/pack.ts';
import { FolderBlobStore } from './folder-blob-store.ts';
import { MemoryBlobStore } from './memory-blob-store.ts';
import { packName, RepositoryStore } from './repository-store.ts';
import { SqliteMetaStore } from './sqlite-meta-store.ts';
import { makePack, randomId } from './testing.ts';

const REFS = Number(process.argv[2] ?? 1_000_000);
const PER_PACK = 1000;

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const result = await fn();
  console.log(`${label.padEnd(52)} ${((performance.now() - start) / 1000).toFixed(2).padStart(7)} s`);
  return result;
}

const dir = await mkdtemp(join(tmpdir(), 'cumulus-store-bench-'));
try {
  const meta = new SqliteMetaStore(join(dir, 'index.sqlite'));
  const store = new RepositoryStore(meta, new MemoryBlobStore());
  const ids = Array.from({ length: REFS }, randomId);
  const snapshotIds = [randomId(), randomId(), randomId()];
  await timed(`index ${REFS} blobs (${REFS / PER_PACK} packs)`, async () => {
    for (let p = 0; p * PER_PACK < REFS; p++) {
      const entries: PackEntry[] = ids
        .slice(p * PER_PACK, (p + 1) * PER_PACK)
        .map((id, i) => ({ id, type: 'data', offset: 9 + i * 1000, length: 1000 }));
      if (p === 0) {
        for (const [i, id] of snapshotIds.entries()) {
          entries.push({ id, type: 'snapshot', offset: 1e7 + i * 100, length: 100 });
        }
      }
      await meta.indexPacks([{ id: randomId(), size: 1 << 24, entries }], Date.now());
    }
  });
  const source = 'ab'.repeat(16);
  const commit = (id: string, refs: string[]) => ({
    id,
    time: new Date().toISOString(),
    sources: [{ id: source, tree: refs[0], logicalSize: refs.length * 2000, refs }],
  });
  await timed(`commit a snapshot of ${REFS} refs (quota checked)`, () =>
    store.commitSnapshot(commit(snapshotIds[0], ids), { maxReferencedBytes: 1e15 }),
  );
  await timed(`commit the same ${REFS} refs again (shared refset)`, () =>
    store.commitSnapshot(commit(snapshotIds[1], ids), { maxReferencedBytes: 1e15 }),
  );
  await timed(`commit ${REFS - 1} refs (a new refset)`, () =>
    store.commitSnapshot(commit(snapshotIds[2], ids.slice(1)), { maxReferencedBytes: 1e15 }),
  );
  const probe = [...ids.slice(0, 50_000), ...Array.from({ length: 50_000 }, randomId)];
  const missing = await timed('missingBlobs of 100,000 ids (half present)', () => store.missingBlobs(probe));
  if (missing.size !== 50_000) throw new Error(`expected 50,000 missing, got ${missing.size}`);
  await timed('usage()', () => store.usage());
  await timed('storageBreakdown()', () => store.storageBreakdown());
  await timed('forget the three snapshots', () => store.forgetSnapshots(snapshotIds));
  await store.close();

  const folder = join(dir, 'repo');
  await mkdir(folder);
  const files = new FolderBlobStore(folder);
  const rebuilt = new RepositoryStore(new SqliteMetaStore(join(folder, 'index.sqlite')), files);
  for (let p = 0; p < 1000; p++) {
    const pack = makePack(Array.from({ length: 100 }, () => 200));
    const path = join(folder, packName(pack.id));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, pack.bytes);
  }
  const result = await timed('rebuildIndex of 1,000 packs (100 blobs each)', () => rebuilt.rebuildIndex());
  if (result.packs !== 1000 || result.blobs !== 100_000) throw new Error(`rebuilt ${JSON.stringify(result)}`);
  await rebuilt.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
