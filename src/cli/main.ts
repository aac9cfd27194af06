// The entry point of the `cumulus` command (bin/cumulus.js imports it).
import { enableCompileCache, getCompileCacheDir } from 'node:module';

// Node keeps the compiled, type-stripped modules on disk between runs: without it, compiling
// them again was most of a quick command's time (0.2 s of `cumulus backup --help`). The program
// is imported after this line so that it is cached too.
enableCompileCache();
// Worker threads and child processes take the cache from the environment, not from this call.
const cacheDir = getCompileCacheDir();
if (cacheDir !== undefined) process.env.NODE_COMPILE_CACHE ??= cacheDir;
const { run } = await import('./program.ts');
process.exitCode = await run(process.argv);
