// Content type of a user-data document from its first line, as cloud-init maps it.
// The longest matching prefix wins ('#include-once' before '#include').

const PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['#include-once', 'text/x-include-once-url'],
  ['#include', 'text/x-include-url'],
  ['#cloud-config-archive', 'text/cloud-config-archive'],
  ['#cloud-config-jsonp', 'text/cloud-config-jsonp'],
  ['#cloud-config', 'text/cloud-config'],
  ['#cloud-boothook', 'text/cloud-boothook'],
  ['#part-handler', 'text/part-handler'],
  ['#upstart-job', 'text/upstart-job'],
  ['## template: jinja', 'text/jinja2'],
  ['#!', 'text/x-shellscript'],
];

/** The type cloud-init gives a document starting with these bytes; 'text/plain' when none matches. */
export function sniffType(body: Buffer): string {
  // Only the start matters; a BOM-free ASCII prefix is all we compare.
  const head = body.subarray(0, 64).toString('latin1').toLowerCase();
  for (const [prefix, type] of PREFIXES) if (head.startsWith(prefix)) return type;
  return 'text/plain';
}
