// Small stand-ins for the packages the configuration-management modules
// install (chef and salt are not in Debian 12, the real puppet pulls in Ruby,
// and a test's image is offline): each has the files the modules and the
// agents look at, and nothing that runs a service. Used by the module test
// on a Debian root and by the compare-with-cloud-init seed alike.
import type { Package } from './repo.ts';

/** A unit file that would start `exec` (nothing starts it under a test). */
const unit = (what: string, exec: string, wanted = 'multi-user.target') =>
  `[Unit]\nDescription=${what}\n[Service]\nExecStart=${exec}\n[Install]\nWantedBy=${wanted}\n`;

/** Debian 12's puppet.conf, as the puppet package ships it. */
export const PUPPET_CONF = '[main]\nssldir = /var/lib/puppet/ssl\n\n[master]\nvardir = /var/lib/puppet\ncadir  = /var/lib/puppet/ssl/ca\ndns_alt_names = puppet\n';

export const STAND_INS = {
  // `puppet config print` as Debian 12's puppet 7 answers; the puppet user its postinst makes.
  puppet: {
    name: 'puppet', version: '7.23.0-1',
    files: {
      '/usr/bin/puppet': '#!/bin/sh\ncase "$1 $2 $3" in\n"config print config") echo /etc/puppet/puppet.conf ;;\n'
        + '"config print ssldir") echo /var/lib/puppet/ssl ;;\n"config print csr_attributes") echo /etc/puppet/csr_attributes.yaml ;;\n*) exit 1 ;;\nesac\n',
      '/etc/puppet/puppet.conf': PUPPET_CONF,
      '/lib/systemd/system/puppet.service': unit('Puppet agent', '/usr/bin/puppet agent --no-daemonize'),
    },
    scripts: { postinst: '#!/bin/sh\nid puppet >/dev/null 2>&1 || useradd --system --user-group --home-dir /var/lib/puppet --shell /usr/sbin/nologin puppet\n' },
  },
  chef: { name: 'chef', version: '18.2.7-1', files: { '/usr/bin/chef-client': '#!/bin/sh\nexit 0\n' } },
  'salt-minion': {
    name: 'salt-minion', version: '3006.4',
    files: {
      '/usr/bin/salt-minion': '#!/bin/sh\nexit 0\n',
      // Both a unit and an init script, as the real package: an image without systemd runs the script (service).
      '/lib/systemd/system/salt-minion.service': unit('The Salt Minion', '/usr/bin/salt-minion'),
      '/etc/init.d/salt-minion': '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: salt-minion\n# Required-Start: $remote_fs\n# Required-Stop: $remote_fs\n'
        + '# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: stand-in: the service is asked, nothing runs\n### END INIT INFO\nexit 0\n',
    },
  },
  'wireguard-tools': {
    name: 'wireguard-tools', version: '1.0.20210914-1',
    files: { '/usr/bin/wg': '#!/bin/sh\nexit 0\n', '/lib/systemd/system/wg-quick@.service': unit('WireGuard via wg-quick(8) for %I', '/usr/bin/wg-quick up %i') },
  },
  ansible: { name: 'ansible', version: '7.3.0', files: { '/usr/bin/ansible': '#!/bin/sh\nexit 0\n', '/usr/bin/ansible-pull': '#!/bin/sh\necho "ansible-pull [core 2.14.3]"\n' } },
} satisfies Record<string, Package>;
