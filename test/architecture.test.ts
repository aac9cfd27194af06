/**
 * The layers may only import downwards (ARCHITECTURE.md). This test reads every import
 * in src/ and in the web console (web/src) and fails on an edge that runs upward or
 * sideways between peers.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const SRC = resolve(import.meta.dirname, '../src');
const WEB = resolve(import.meta.dirname, '../web/src');

/** Which layers each layer may import (itself included). */
const ALLOWED: Record<string, string[]> = {
  core: ['core'],
  store: ['core', 'store'],
  api: ['core', 'api'],
  client: ['core', 'store', 'api', 'client'],
  server: ['core', 'store', 'api', 'server'],
  agent: ['core', 'store', 'api', 'client', 'agent'],
  cli: ['core', 'store', 'api', 'client', 'server', 'agent', 'cli'],
  // The console runs in a browser: it reaches the server only through the API contract,
  // and shares only core's pure code (no node: modules reach a browser bundle).
  web: ['core', 'api', 'web'],
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.tsx?$/.test(entry.name)) yield path;
  }
}

function layerOf(file: string): string {
  return file.startsWith(WEB) ? 'web' : relative(SRC, file).split('/')[0];
}

export function importEdges(): { from: string; to: string; file: string; specifier: string }[] {
  const edges = [];
  const pattern =
    /(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|new URL\(\s*['"](\.[^'"]+)['"]/g;
  for (const file of [...sourceFiles(SRC), ...sourceFiles(WEB)]) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(pattern)) {
      const specifier = match[1] ?? match[2] ?? match[3];
      const target = resolve(dirname(file), specifier);
      if (!target.startsWith(SRC) && !target.startsWith(WEB)) continue;
      edges.push({ from: layerOf(file), to: layerOf(target), file: relative(SRC, file), specifier });
    }
  }
  return edges;
}

test('every import in src/ points to the same or a lower layer', () => {
  const edges = importEdges();
  assert.ok(edges.length > 20, 'the import scan found almost nothing: the pattern is broken');
  const layers = new Set(Object.keys(ALLOWED));
  const violations = edges
    .filter((e) => layers.has(e.from) && !ALLOWED[e.from].includes(e.to))
    .map((e) => `${e.file} (${e.from}) imports ${e.specifier} (${e.to})`);
  assert.deepEqual(violations, []);
});

test('every folder under src/ is a known layer', () => {
  const folders = readdirSync(SRC, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);
  const unknown = folders.filter((f) => !(f in ALLOWED) || f === 'web');
  assert.deepEqual(unknown, []);
});

test('no module the web console reaches, however indirectly, imports a node: module', () => {
  const pattern = /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\s*\(?\s*['"]([^'"]+)['"]/g;
  const seen = new Set<string>();
  const offenders: string[] = [];
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const match of readFileSync(file, 'utf8').matchAll(pattern)) {
      const specifier = match[1] ?? match[2];
      if (specifier.startsWith('node:')) offenders.push(`${relative(WEB, file)} imports ${specifier}`);
      else if (/^\..*\.tsx?$/.test(specifier)) visit(resolve(dirname(file), specifier));
    }
  };
  for (const file of sourceFiles(WEB)) visit(file);
  assert.ok(
    [...seen].some((file) => file.startsWith(join(SRC, 'api'))),
    'the scan reaches the API contract',
  );
  assert.deepEqual(offenders, []);
});

test("the web console's own code uses no Node global (its type check knows them, for the shared core)", () => {
  const offenders = [...sourceFiles(WEB)].filter((file) =>
    /\b(Buffer|process|__dirname|require)\b[.(]/.test(readFileSync(file, 'utf8')),
  );
  assert.deepEqual(offenders, []);
});
