// Re-assembles the BIOS boot code with nasm and rewrites electron/engine/formats/fat32/BiosBootCode.ts.
// Run as: npm run build --silent && node dist/scripts/assemble-boot-code.js
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assembleBootCode, bootCodeModule } from './lib/bootCode.js';

const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const target = join(packageRoot, 'electron', 'engine', 'formats', 'fat32', 'BiosBootCode.ts');
const code = assembleBootCode(packageRoot);
writeFileSync(target, bootCodeModule(code));
console.log(`${target}: MBR code ${code.mbr.length} bytes, FAT32 boot code ${code.fat32.length} bytes`);
