// Where each user-data part goes: the one place that decides it, from the
// part's type and the part-handlers before it. handleParts (handlers/) takes
// each part where this says; `plan` prints it. A part of a type an executable
// part-handler before it declares goes to that handler; a Python handler's
// types are known only when it runs, so for a part no built-in handler takes
// the plan says so (boot asks the handler then).
import { describeHandler, parseExecHeader, PART_HANDLER_TYPE } from '../handlers/part-handler.ts';
import { describeUpstartJob } from '../handlers/upstart.ts';
import { layout } from '../state/layout.ts';
import type { Part } from '../types.ts';
import type { PartRoute, PartStep } from './steps.ts';

/** The image's script directories, for the per-boot/instance/once script types. */
const SCRIPT_DIRS: Record<string, string> = {
  'text/x-shellscript-per-boot': layout.userScriptsDir('per-boot'),
  'text/x-shellscript-per-instance': layout.userScriptsDir('per-instance'),
  'text/x-shellscript-per-once': layout.userScriptsDir('per-once'),
};

/** cloud-init's internal name for "no recognized first line" is shown as what the user sent: text/plain. */
export function shownType(type: string): string {
  return type === 'text/x-not-multipart' ? 'text/plain' : type;
}

/** Each part's step, in order: where it goes, and why when it goes nowhere. */
export function routeParts(parts: Part[], instanceId: string): PartStep[] {
  const claimedBy = new Map<string, string>();
  const pythonHandlers: string[] = [];
  let handlers = 0;
  return parts.map((part, index) => {
    const step = (route: PartRoute, detail: string): PartStep => ({
      kind: 'part', stage: 'init', name: `${part.filename} (${part.type})`, index, part, route,
      run: route.to !== 'ignore', detail,
    });
    if (part.type === PART_HANDLER_TYPE) {
      const detail = describeHandler(part, instanceId, handlers++);
      let header: ReturnType<typeof parseExecHeader>;
      try { header = parseExecHeader(part.body); } catch { return step({ to: 'ignore', reason: detail }, detail); }
      if (header) for (const t of header.types) claimedBy.set(t, part.filename);
      else pythonHandlers.push(part.filename);
      return step({ to: 'register-handler' }, detail);
    }
    const route = builtinRoute(part, instanceId);
    const by = claimedBy.get(part.type);
    if (by !== undefined) return step({ to: 'part-handler', handler: by, fallback: route }, `to part-handler ${by}`);
    const detail = builtinDetail(part, route);
    if (pythonHandlers.length && route.to === 'ignore') {
      return step(route, `to part-handler ${pythonHandlers.join(' or ')} if it registers ${part.type} (known when it runs); else ${detail}`);
    }
    return step(route, detail);
  });
}

function builtinRoute(part: Part, instanceId: string): PartRoute {
  switch (part.type) {
    case 'text/x-shellscript': return { to: 'save-script', path: `${layout.scripts(instanceId)}/${part.filename}` };
    case 'text/cloud-config': return { to: 'merge' };
    case 'text/cloud-boothook':
    case 'application/x-sh': return { to: 'boothook', path: `${layout.boothooks(instanceId)}/${part.filename}` };
    case 'text/upstart-job': return { to: 'upstart-job' };
    default:
      if (SCRIPT_DIRS[part.type]) return { to: 'save-script', path: `${SCRIPT_DIRS[part.type]}/${part.filename}` };
      return {
        to: 'ignore',
        reason: `unknown user-data format '${shownType(part.type)}' (a part must start with #!, #cloud-config, #include, #cloud-boothook, … or be a MIME part of a known type)`,
      };
  }
}

function builtinDetail(part: Part, route: PartRoute): string {
  switch (route.to) {
    case 'save-script':
      return part.type === 'text/x-shellscript' ? `save to ${route.path}, run in stage final (per-instance)` : `save to ${route.path}`;
    case 'merge': return 'merge into the cloud-config';
    case 'boothook': return `save to ${route.path}, run now, in stage init (per-boot, INSTANCE_ID set)`;
    case 'upstart-job': return describeUpstartJob(part);
    case 'ignore': return `ignore: unknown user-data format '${shownType(part.type)}'`;
    default: return '';
  }
}

/**
 * Vendor-data's parts: its cloud-config is merged (under the user's), its
 * #! scripts are saved for scripts_vendor (stage final, before the user's);
 * other parts are not used (ec2-init runs no vendor boothooks or handlers).
 */
export function routeVendorParts(parts: Part[], instanceId: string): PartStep[] {
  return parts.map((part, index) => {
    const name = `vendor-data ${part.filename} (${part.type})`;
    const base = { kind: 'part' as const, stage: 'init' as const, name, index, part };
    if (part.type === 'text/cloud-config') return { ...base, route: { to: 'merge' }, run: true, detail: 'merge into the vendor cloud-config (the user\'s wins)' };
    if (part.type === 'text/x-shellscript') {
      const path = `${layout.vendorScripts(instanceId)}/${part.filename}`;
      return { ...base, route: { to: 'save-script', path }, run: true, detail: `save to ${path}, run in stage final (scripts_vendor, per-instance)` };
    }
    const reason = `vendor-data part of type ${shownType(part.type)} is not used (only cloud-config and #! scripts are)`;
    return { ...base, route: { to: 'ignore', reason }, run: false, detail: `ignore: ${reason}` };
  });
}
