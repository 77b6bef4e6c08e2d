// `devel make-mime -a FILE:TYPE …`: build multipart user-data from files,
// as cloud-init's devel make-mime does. TYPE is a MIME subtype of text/
// ('cloud-config', 'x-shellscript', …) or a full 'main/sub' type.
import { readHostFile } from '../host/machine.ts';
import { makeMime } from '../userdata/make-mime.ts';

export function makeMimeCommand(argv: string[]): Uint8Array {
  const parts: { content: Uint8Array; type: string; filename: string }[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a !== '-a' && a !== '--attach') throw new Error(`make-mime: unexpected argument '${a}' (use -a FILE:TYPE)`);
    const spec = argv[++i];
    const colon = spec?.lastIndexOf(':') ?? -1;
    if (spec === undefined || colon <= 0) throw new Error(`make-mime: ${a} needs FILE:TYPE (e.g. config.yaml:cloud-config)`);
    const file = spec.slice(0, colon);
    const type = spec.slice(colon + 1);
    const b = readHostFile(file);
    parts.push({ content: b, type: type.includes('/') ? type : `text/${type}`, filename: file.split('/').pop() ?? file });
  }
  if (parts.length === 0) throw new Error('make-mime: nothing to attach (use -a FILE:TYPE, once per part)');
  return makeMime(parts);
}
