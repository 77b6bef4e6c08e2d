// Where things are: the repository, and the conformance data beside it
// (../shared/conformance: cloud-init's examples, the IMDS mock, merge cases).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TOP = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONFORMANCE = join(TOP, '..', 'shared', 'conformance');

/** One of cloud-init's doc examples (conformance/cloud-init/doc-examples/NAME). */
export const docExample = (name: string): Buffer => readFileSync(join(CONFORMANCE, 'cloud-init', 'doc-examples', name));
