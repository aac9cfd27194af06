#!/usr/bin/env node
// The package's bin: runs the TypeScript CLI through Node's type stripping.
import '../src/cli/main.ts';
