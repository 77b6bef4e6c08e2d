// The byobu seed of the compare test (issue 24): `byobu_by_default:
// enable-user` on an image without byobu, so each agent installs it from a
// local apt repository (the image is offline) of a small stand-in package,
// then runs byobu-launcher-install as the default user and sets debconf's
// byobu/launch-by-default before dpkg-reconfigure byobu. The stand-in's
// launcher scripts and postinst act on the same files as Debian 12's byobu
// 5.133 (the real one pulls in tmux, python3-newt and gawk): the launcher
// line in ~/.profile, ~/.hushlogin, the ~/.byobu directory, and
// /etc/byobu/autolaunch from the debconf answer. debconf's database is under
// /var/cache, which the comparison leaves out, so runcmd copies the answer
// out where it is compared. On trixie's cloud-init 25.1: 22.4 never installs
// byobu (its launcher is then "command not found"), the install came in 23.x.
import type { Package } from '../apt/repo.ts';
import { localRepo } from './seed-config-mgmt.ts';
import type { Seed } from './seeds.ts';

// The common start of byobu's launcher scripts: the user's config directory (~/.byobu, with its bin/).
const CONFIG_DIR = String.raw`CONFIG="$HOME/.byobu"
[ -d "$CONFIG" ] || mkdir -p "$CONFIG/bin"
`;

const PACKAGES: Package[] = [{
  name: 'byobu', version: '5.133-1.1',
  depends: 'debconf (>= 0.5) | debconf-2.0',
  files: {
    '/usr/bin/byobu': '#!/bin/sh\nexit 0\n',
    '/usr/bin/byobu-launch': '#!/bin/sh\ntrue\n',
    '/usr/bin/byobu-launcher-uninstall': String.raw`#!/bin/sh -e
# stand-in: removes the launcher lines from the login profiles, turns autolaunch off for the user
${CONFIG_DIR}remove_launcher() {
	if [ -w "$1" ]; then
		sed -i --follow-symlinks -e '/^\s*#/n' -e '/\bbyobu-launch/d' -e '/\bscreen-launch/d' "$1"
	fi
}
if [ -f "$1" ]; then
	remove_launcher "$1"
else
	for i in .profile .bashrc .bash_profile .bash_login .zprofile .config/fish/config.fish; do
		remove_launcher "$HOME/$i"
	done
fi
mkdir -p "$CONFIG"
touch "$CONFIG/disable-autolaunch"
rm -f "$HOME/.hushlogin"
`,
    '/usr/bin/byobu-launcher-install': String.raw`#!/bin/sh -e
# stand-in: puts the launcher line in the user's login profiles, turns autolaunch on for the user
${CONFIG_DIR}install_launcher() {
	byobu-launcher-uninstall "$1" || true
	printf "_byobu_sourced=1 . /usr/bin/byobu-launch 2>/dev/null || true\n" >> "$1"
}
byobu-launcher-uninstall || true
if [ ! -h /etc/profile.d/Z97-byobu.sh ]; then
	install_launcher "$HOME/.profile"
	for i in .bash_profile .bash_login; do
		if [ -w "$HOME/$i" ]; then install_launcher "$HOME/$i"; fi
	done
fi
touch "$HOME/.hushlogin"
rm -f "$CONFIG/disable-autolaunch" "$CONFIG/no-logout-on-detach"
`,
    '/etc/profile.d/Z97-byobu.sh': '# stand-in: byobu at login when the system default is on\n'
      + 'if [ -r /usr/bin/byobu-launch ] && [ -e /etc/byobu/autolaunch ]; then . /usr/bin/byobu-launch; fi\n',
    '/etc/byobu/backend': 'BYOBU_BACKEND="tmux"\n',
  },
  scripts: {
    // The question, asked in config (never shown: noninteractive) and read in postinst.
    templates: 'Template: byobu/launch-by-default\nType: boolean\nDefault: false\nDescription: Launch byobu at login for every user?\n',
    config: '#!/bin/sh -e\n. /usr/share/debconf/confmodule\ndb_version 2.0\ndb_input medium byobu/launch-by-default || true\ndb_go\nexit 0\n',
    postinst: String.raw`#!/bin/sh -e
. /usr/share/debconf/confmodule
db_version 2.0
db_get byobu/launch-by-default || true
if [ "$RET" = true ]; then touch /etc/byobu/autolaunch; else rm -f /etc/byobu/autolaunch; fi
exit 0
`,
  },
}];

const USER_DATA = `#cloud-config
byobu_by_default: enable-user
runcmd:
  - [sh, -c, "debconf-show byobu > /var/tmp/byobu-debconf.txt"]
`;

export const BYOBU_SEED: Seed = {
  id: 'byobu',
  suite: 'trixie',
  metaData: 'instance-id: iid-compare-0001\nlocal-hostname: compare-local\n',
  userData: Buffer.from(USER_DATA),
  effects: ['/usr/bin/byobu', '/var/lib/dpkg/status', '/etc/byobu/autolaunch', '/home/debian/.profile', '/home/debian/.hushlogin',
    '/home/debian/.byobu/bin', '/var/tmp/byobu-debconf.txt'],
  // byobu is per instance: a new instance runs the launcher and dpkg-reconfigure again (byobu is there by then).
  newInstance: true,
  files: localRepo(PACKAGES),
};
