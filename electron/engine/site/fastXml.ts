// fast-xml-parser as its own one-file CommonJS build (the package's "require" export, the same version): its ES module
// build is 40 files, whose loading cost every run about 0.05 s before the first export was read; this one takes 0.01 s.
import { createRequire } from 'node:module';
import type * as Fxp from 'fast-xml-parser';

const fxp = createRequire(import.meta.url)('fast-xml-parser') as typeof Fxp;

export const XMLParser = fxp.XMLParser;
export const XMLValidator = fxp.XMLValidator;
