#!/usr/bin/env node
// The built CLI (npm run build writes dist/). From a source checkout without a build: npx tsx src/cli/bin.ts
import '../dist/cli/bin.js';
