#!/usr/bin/env node
// The `tsmedia` command: runs the compiled CLI (npm run build produces dist/).
import { main } from '../dist/electron/cli/tsmedia.js';

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
