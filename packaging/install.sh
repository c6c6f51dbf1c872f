#!/usr/bin/env bash
# install.sh: the body of `make install`, for people who build from source.
# Installs what the packages hold, under PREFIX (/usr/local) inside DESTDIR:
#
#   PREFIX/bin/sysmon-{publisher,consumer}                the binaries (built before, in BIN)
#   PREFIX/lib/systemd/system/sysmon-*.service            the units, ExecStart= pointing at PREFIX/bin
#   PREFIX/lib/sysusers.d/sysmon-*.conf                   the sysmon user, for systemd-sysusers
#   PREFIX/share/man/man1/sysmon-*.1                      the man pages
#   /etc/sysmon/{publisher,consumer}.env                  only where none exists yet: an existing
#                                                         one is left alone, the new one goes beside it
#                                                         as .env.new
#
# The env files stay in /etc/sysmon whatever PREFIX is: the daemons read them
# there by default. Environment: VERSION, BIN (bin), PREFIX, DESTDIR.
set -euo pipefail
: "${VERSION:?}"
BIN=${BIN:-bin}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
PACKAGES="sysmon-publisher sysmon-consumer"

d=$DESTDIR$PREFIX
install -d "$d/bin" "$d/lib/systemd/system" "$d/lib/sysusers.d" "$d/share/man/man1" "$DESTDIR/etc/sysmon"
for pkg in $PACKAGES; do
	role=${pkg#sysmon-}
	install -m 0755 "$BIN/$pkg" "$d/bin/$pkg"
	sed "s|^ExecStart=/usr/bin/|ExecStart=$PREFIX/bin/|" "systemd/$pkg.service" >"$d/lib/systemd/system/$pkg.service"
	chmod 0644 "$d/lib/systemd/system/$pkg.service"
	install -m 0644 packaging/sysusers.d/sysmon.conf "$d/lib/sysusers.d/$pkg.conf"
	VERSION=$VERSION packaging/man.sh "packaging/man/$pkg.1" "etc/sysmon/$role.env" >"$d/share/man/man1/$pkg.1"
	chmod 0644 "$d/share/man/man1/$pkg.1"
	env=$DESTDIR/etc/sysmon/$role.env
	if [ -e "$env" ]; then
		install -m 0640 "etc/sysmon/$role.env" "$env.new"
		echo "   $env exists: left as it is, this version's is beside it as $role.env.new"
	else
		install -m 0640 "etc/sysmon/$role.env" "$env"
	fi
	# May hold the broker password: readable by the daemon's group only.
	if [ "$(id -u)" = 0 ] && getent group sysmon >/dev/null; then
		chgrp sysmon "$env" "$env.new" 2>/dev/null || chgrp sysmon "$env"
	fi
done
echo "== installed sysmon $VERSION under $d (env files in $DESTDIR/etc/sysmon)"
if [ -z "$DESTDIR" ]; then
	cat <<-END
	   next, as root:
	     systemd-sysusers                     # creates the sysmon user
	     chgrp sysmon /etc/sysmon/*.env       # the daemons' group reads the env files
	     systemctl daemon-reload
	     systemctl enable --now sysmon-publisher sysmon-consumer
	END
fi
