// Validators for the names user-data gives the distro's package manager and
// init system (packages, rsyslog, puppet, salt_minion, ansible…), and the
// programs that tell a package is installed: each goes into an argv
// (apt-get install, systemctl) or a lookup in the root's PATH, so it must be
// one word that can never be read as an option.
import { bad, type Checked, matching, text } from './check.ts';
import { pathUnderRoot } from './files.ts';

/** A Debian package name, optionally =version: never an option (-o…) or two words. */
export function packageSpec(v: unknown): Checked<string> {
  return matching(v, /^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/, 'expected a Debian package name (lower case letters, digits, + - .), optionally =version');
}

/** A systemd unit or init script name: one word, no path. */
export function serviceName(v: unknown): Checked<string> {
  return matching(v, /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/, 'expected a service name (letters, digits, _ . @ : -)');
}

/**
 * A program, as cloud-init's subp.which takes it: a name looked up in the
 * root's PATH (one word, not an option, no '/'), or its absolute path inside
 * the root (pathUnderRoot's rule: no '.' or '..' component).
 */
export function programName(v: unknown): Checked<string> {
  const t = text(v);
  if (!t.ok) return t;
  if (t.value.includes('/')) {
    const p = pathUnderRoot(t.value);
    return p.ok ? p : bad(`${p.why} (a program is a name looked up in PATH, or its absolute path)`);
  }
  return matching(t.value, /^[A-Za-z0-9_+][A-Za-z0-9_.+-]*$/, 'expected a program name (letters, digits, _ . + -, not starting with - or .) or its absolute path');
}
