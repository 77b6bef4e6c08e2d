// Validators for the names user-data gives the distro's package manager and
// init system (packages, rsyslog, puppet, salt_minion, ansible…): each goes
// into an argv (apt-get install, systemctl), so it must be one word that can
// never be read as an option.
import { type Checked, matching } from './check.ts';

/** A Debian package name, optionally =version: never an option (-o…) or two words. */
export function packageSpec(v: unknown): Checked<string> {
  return matching(v, /^[a-z0-9][a-z0-9+.-]*(=[A-Za-z0-9.+~:-]+)?$/, 'expected a Debian package name (lower case letters, digits, + - .), optionally =version');
}

/** A systemd unit or init script name: one word, no path. */
export function serviceName(v: unknown): Checked<string> {
  return matching(v, /^[A-Za-z0-9][A-Za-z0-9_.@:-]*$/, 'expected a service name (letters, digits, _ . @ : -)');
}
