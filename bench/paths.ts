/** Paths of the benchmark's working folders, all under the gitignored `.bench/` at the project root. */
import { fileURLToPath } from 'node:url';

/** projectRoot is the repository checkout the benchmark belongs to. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** workDir holds everything the benchmark writes: corpus, repositories, tool homes, logs. */
export const workDir = `${projectRoot}/.bench`;
