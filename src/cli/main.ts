// The entry point of the `cumulus` command (bin/cumulus.js imports it).
import { run } from './program.ts';

process.exitCode = await run(process.argv);
