/**
 * Gitignore-style path patterns (`--exclude`, `--exclude-file`, `restore --include`),
 * matched against paths relative to a source root with `/` separators.
 */
import { readFileSync } from 'node:fs';
import ignore from 'ignore';
import { CumulusError } from '../core/errors.ts';

/** ExcludeMatcher says whether a path (relative, `/`-separated) is excluded. */
export type ExcludeMatcher = (relativePath: string, isDirectory: boolean) => boolean;

export function excludeMatcher(patterns: string[]): ExcludeMatcher {
  if (patterns.length === 0) return () => false;
  const matcher = ignore().add(patterns);
  return (path, isDirectory) => matcher.ignores(isDirectory ? `${path}/` : path);
}

/** readPatternFile reads one pattern per line; blank lines and `#` comments are skipped. */
export function readPatternFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new CumulusError('usage', `cannot read pattern file ${path}: ${(error as Error).message}`);
  }
  return text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
}
