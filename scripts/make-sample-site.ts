// Generates assets/sample-site/ (or the folder given as the first argument): a small, deterministic sample
// Configuration Manager site. Run as: node dist/scripts/make-sample-site.js [outDir]
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleSite } from './lib/SampleSite.js';

// dist/scripts/make-sample-site.js → the package root is two levels up.
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? resolve(packageRoot, 'assets', 'sample-site'));
  const result = await generateSampleSite(outDir);
  console.log(`Sample site written to ${result.outDir}: ${result.files} files, ${result.bytes} bytes (${(result.bytes / 1048576).toFixed(2)} MiB)`);
}

main().catch((err: unknown) => {
  console.error(`make-sample-site: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
