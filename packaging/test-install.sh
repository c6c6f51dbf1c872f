#!/usr/bin/env bash
# test-install.sh: the body of `make test-packages`. Installs the amd64 .deb
# packages on a booted systemd (Debian bookworm in systemd-nspawn, sharing the
# host's network and so its RabbitMQ on 127.0.0.1:5672) and checks what issues
# #3 and #15 ask, step by step. The container is always powered off at the end.
#
# The packages come as a user gets them: from a signed repository (`make repo`,
# with a throwaway key) served over HTTP from the host, added with the three
# commands of README, then `apt install`; the upgrade is `apt upgrade` after
# the newer version was added to the same repository. A repository signed with
# another key must be refused.
#
# The DNF repository is read by Debian's dnf on the host (signed metadata,
# key import, download; a forged copy refused). A last step runs the RPMs'
# scriptlets in the container, with Debian's rpm and Fedora's preset policy
# (no Fedora mirror is reachable from here).
#
# Environment: VERSION and UPGRADE_VERSION (the packages in $OUT and in
# $OUT/upgrade, as `make test-packages` builds them), OUT (dist),
# SYSMON_TEST_CACHE (/var/cache/sysmon-test: the cached root file system and
# the last run's container, kept stopped for inspection).
set -euo pipefail

: "${VERSION:?}" "${UPGRADE_VERSION:?}"
OUT=${OUT:-dist}
CACHE=${SYSMON_TEST_CACHE:-/var/cache/sysmon-test}
SUITE=bookworm
# Everything the test needs inside the container, so that installing the
# packages downloads nothing (adduser is their only dependency).
ROOTFS_PKGS=systemd,systemd-sysv,dbus,adduser,curl,ca-certificates,jq,rpm
MACHINE=sysmon-pkgtest
RELEASE=$(sed -n 's/^release: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' nfpm.yaml)

t0=$(date +%s)
say() { printf '[%3ss] %s\n' $(($(date +%s) - t0)) "$*"; }
step() { echo; say "== $*"; }
ok() { say "   ok: $*"; }
fail() {
	say "FAIL: $*"
	if [ -n "${CPID:-}" ]; then
		echo "--- journal of the sysmon units (last 40 lines):"
		in_ct journalctl -u sysmon-publisher -u sysmon-consumer --no-pager -n 40 || true
	fi
	exit 1
}

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, systemd-nspawn, nsenter)"
packaging/ensure-tools.sh debootstrap=debootstrap systemd-nspawn=systemd-container \
	zstd=zstd ss=iproute2 ps=procps curl=curl /usr/share/keyrings/debian-archive-keyring.gpg=debian-archive-keyring \
	gpg=gnupg apt-ftparchive=apt-utils createrepo_c=createrepo-c rpmsign=rpm python3=python3 \
	dnf=dnf /usr/lib/python3/dist-packages/dnf-plugins/download.py=dnf-plugins-core

step "0. prerequisites"
debs=("$OUT/sysmon-consumer_$VERSION-${RELEASE}_amd64.deb" "$OUT/sysmon-publisher_$VERSION-${RELEASE}_amd64.deb")
updebs=("$OUT/upgrade/sysmon-consumer_$UPGRADE_VERSION-${RELEASE}_amd64.deb" "$OUT/upgrade/sysmon-publisher_$UPGRADE_VERSION-${RELEASE}_amd64.deb")
rpms=("$OUT/sysmon-consumer-$VERSION-$RELEASE.x86_64.rpm" "$OUT/sysmon-publisher-$VERSION-$RELEASE.x86_64.rpm")
uprpms=("$OUT/upgrade/sysmon-consumer-$UPGRADE_VERSION-$RELEASE.x86_64.rpm" "$OUT/upgrade/sysmon-publisher-$UPGRADE_VERSION-$RELEASE.x86_64.rpm")
for f in "${debs[@]}" "${updebs[@]}" "${rpms[@]}" "${uprpms[@]}"; do [ -f "$f" ] || fail "$f missing: run 'make package' (make test-packages does)"; done
# The container shares the host's network: its daemons bind the host's ports.
for port in 8000 8003; do
	if ss -Htln "sport = :$port" | grep -q .; then
		fail "port $port is already in use on this host (the packaged daemons need it): $(ss -Htlnp "sport = :$port")"
	fi
done
ok "ports 8000 and 8003 are free"
ss -Htln 'sport = :5672' | grep -q . || fail "RabbitMQ is not listening on 5672 (make ensure-broker starts it)"
ok "RabbitMQ listens on 5672"

step "1a. root file system ($SUITE, cached in $CACHE)"
# The Debian mirror that apt already uses on this machine (deb822 or one-line).
mirror=$(
	{
		awk '/^URIs:/ {u=$2} /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == s) print u}' s=$SUITE \
			/etc/apt/sources.list.d/*.sources 2>/dev/null || true
		awk '$1 == "deb" && $3 == s {print $2}' s=$SUITE /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
	} | head -n1
)
[ -n "$mirror" ] || fail "no apt source for $SUITE in /etc/apt/sources.list{,.d}"
key=$(printf '%s\n' "$SUITE" "$ROOTFS_PKGS" "$mirror" "$(dpkg --print-architecture)" | sha256sum | cut -c1-12)
tarball=$CACHE/$SUITE-$key.tar.zst
mkdir -p "$CACHE"
if [ ! -f "$tarball" ]; then
	say "no cached root file system for this package list: debootstrap from the apt mirror (about a minute)"
	build=$CACHE/debootstrap.$$
	rm -rf "$build"
	debootstrap --variant=minbase --include="$ROOTFS_PKGS" "$SUITE" "$build" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
		fail "debootstrap failed, see $CACHE/debootstrap.log"
	# A fresh machine id at every boot, and no apt downloads of lists inside.
	: >"$build/etc/machine-id"
	rm -rf "$build"/var/cache/apt/archives/*.deb "$build"/var/lib/apt/lists/*_Packages
	tar -C "$build" -I 'zstd -T0 -3 -q' -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
	rm -rf "$build"
	# Root file systems of earlier package lists are of no further use.
	find "$CACHE" -maxdepth 1 -name "$SUITE-*.tar.zst" ! -name "${tarball##*/}" -delete
	ok "cached as $tarball"
else
	ok "using $tarball"
fi
ROOT=$CACHE/run/root
rm -rf "$CACHE/run"
mkdir -p "$ROOT"
tar -C "$ROOT" -I 'zstd -T0 -q' -xf "$tarball"
# debootstrap copies the host's /etc/hostname and writes no /etc/hosts; a real
# installation has its own name and resolves localhost through /etc/hosts
# (the daemons' Go resolver does not ask nss-myhostname).
echo "$MACHINE" >"$ROOT/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$MACHINE" >"$ROOT/etc/hosts"
mkdir -p "$ROOT/root/debs" "$ROOT/root/rpms" "$ROOT/root/rpms-upgrade"
cp "${debs[@]}" "$ROOT/root/debs/"
cp "${rpms[@]}" "$ROOT/root/rpms/"
cp "${uprpms[@]}" "$ROOT/root/rpms-upgrade/"
# The packages come from the sysmon repository only: without the Debian
# mirror, `apt update` downloads nothing else (the root has all else needed).
mv "$ROOT/etc/apt/sources.list" "$ROOT/root/debian.sources.list"
ok "fresh container root in $ROOT"

step "1r. a signed repository (make repo, throwaway key), served over HTTP from the host"
WWW=$CACHE/run/www
mkdir -p "$WWW"
packaging/repo.sh genkey "$CACHE/run/signing-key.asc"
packaging/repo.sh genkey "$CACHE/run/other-key.asc"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
REPO_URL=http://127.0.0.1:$port/sysmon
SYSMON_SIGNING_KEY=$CACHE/run/signing-key.asc REPO_URL=$REPO_URL packaging/repo.sh add "$WWW/sysmon" \
	"$OUT"/sysmon-*_"$VERSION-${RELEASE}"_*.deb "$OUT"/sysmon-*-"$VERSION-$RELEASE".*.rpm >"$CACHE/run/repo.log" 2>&1 ||
	{ cat "$CACHE/run/repo.log"; fail "packaging/repo.sh add"; }
for f in sysmon.gpg sysmon.asc sysmon.sources sysmon.repo deb/dists/stable/InRelease deb/dists/stable/Release.gpg \
	deb/dists/stable/main/binary-amd64/Packages deb/dists/stable/main/binary-arm64/Packages \
	rpm/x86_64/repodata/repomd.xml.asc rpm/aarch64/repodata/repomd.xml.asc; do
	[ -s "$WWW/sysmon/$f" ] || fail "make repo wrote no $f"
done
for arch in amd64 arm64; do
	n=$(grep -c '^Package: sysmon-' "$WWW/sysmon/deb/dists/stable/main/binary-$arch/Packages")
	[ "$n" = 2 ] || fail "binary-$arch/Packages lists $n sysmon packages, want 2"
done
gpgv --keyring "$WWW/sysmon/sysmon.gpg" "$WWW/sysmon/rpm/x86_64/repodata/repomd.xml.asc" \
	"$WWW/sysmon/rpm/x86_64/repodata/repomd.xml" 2>/dev/null || fail "repomd.xml.asc does not verify with sysmon.gpg"
rpmdb=$CACHE/run/rpmdb
mkdir -p "$rpmdb"
rpmkeys --dbpath "$rpmdb" --import "$WWW/sysmon/sysmon.asc"
sigs=$(rpmkeys --dbpath "$rpmdb" -K "$WWW"/sysmon/rpm/*/*.rpm) || fail "rpm signatures: $sigs"
[ "$(grep -c 'digests signatures OK$' <<<"$sigs")" = 4 ] || fail "rpm signatures: $sigs"
ok "APT (amd64, arm64) and DNF (x86_64, aarch64) indexes signed; the 4 rpms signed (rpmkeys -K)"
# The same repository re-signed with another key: apt and dnf must refuse it.
cp -r "$WWW/sysmon" "$WWW/forged"
forged=$(mktemp -d)
GNUPGHOME=$forged gpg --batch --quiet --import "$CACHE/run/other-key.asc"
for sig in InRelease Release.gpg; do
	rm "$WWW/forged/deb/dists/stable/$sig"
done
GNUPGHOME=$forged gpg --batch --clearsign -o "$WWW/forged/deb/dists/stable/InRelease" "$WWW/forged/deb/dists/stable/Release"
GNUPGHOME=$forged gpg --batch --armor --detach-sign -o "$WWW/forged/deb/dists/stable/Release.gpg" "$WWW/forged/deb/dists/stable/Release"
for arch in x86_64 aarch64; do
	rm "$WWW/forged/rpm/$arch/repodata/repomd.xml.asc"
	GNUPGHOME=$forged gpg --batch --armor --detach-sign -o "$WWW/forged/rpm/$arch/repodata/repomd.xml.asc" "$WWW/forged/rpm/$arch/repodata/repomd.xml"
done
gpgconf --homedir "$forged" --kill all 2>/dev/null || true
rm -rf "$forged"
python3 -m http.server --bind 127.0.0.1 --directory "$WWW" "$port" >"$CACHE/run/http.log" 2>&1 &
HTTP_PID=$!
# Until the container's trap takes over (it stops the server too).
trap 'kill "$HTTP_PID" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fsS -o /dev/null "$REPO_URL/sysmon.sources" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null "$REPO_URL/sysmon.sources" || fail "python3 -m http.server does not serve $REPO_URL"
ok "served at $REPO_URL (python3 -m http.server, PID $HTTP_PID); a copy signed with another key at /forged"

step "1d. dnf, as a Fedora user adds the repository: sysmon.repo, signed metadata, signed packages"
# Debian's dnf against an empty install root: no Fedora mirror is reachable
# here, so nothing is installed with it (the packages' one dependency,
# shadow-utils, comes from Fedora), but dnf itself checks repomd.xml's
# signature (repo_gpgcheck=1), imports the key from gpgkey= and downloads.
DNF=$CACHE/run/dnf
mkdir -p "$DNF/repos" "$DNF/root" "$DNF/forged.repos"
curl -fsS -o "$DNF/repos/sysmon.repo" "$REPO_URL/sysmon.repo"
dnf_() {
	local repos=$1
	shift
	dnf -y -q --installroot="$DNF/root" --releasever=40 --setopt=reposdir="$DNF/$repos" \
		--setopt=cachedir="$DNF/cache-$repos" --setopt=skip_if_unavailable=False "$@"
}
dnf_ repos makecache >"$DNF/makecache.log" 2>&1 || fail "dnf makecache on sysmon.repo: $(cat "$DNF/makecache.log")"
list=$(dnf_ repos list available 'sysmon-*' 2>&1) || fail "dnf list: $list"
for pkg in sysmon-publisher sysmon-consumer; do
	grep -qE "^$pkg\.x86_64 +$VERSION-$RELEASE +sysmon" <<<"$list" || fail "dnf list does not show $pkg $VERSION-$RELEASE:
$list"
done
dnf_ repos download --destdir "$DNF/dl" sysmon-publisher sysmon-consumer >"$DNF/download.log" 2>&1 ||
	fail "dnf download: $(cat "$DNF/download.log")"
sigs=$(rpmkeys --dbpath "$rpmdb" -K "$DNF"/dl/*.rpm) || fail "downloaded rpm signatures: $sigs"
[ "$(grep -c 'digests signatures OK$' <<<"$sigs")" = 2 ] || fail "downloaded rpm signatures: $sigs"
sed -e 's|/sysmon/rpm/|/forged/rpm/|' -e 's|^\[sysmon\]|[forged]|' "$DNF/repos/sysmon.repo" >"$DNF/forged.repos/forged.repo"
if out=$(dnf_ forged.repos makecache 2>&1); then
	fail "dnf makecache accepted repomd.xml signed with another key:
$out"
fi
grep -q "GPG signature verification error" <<<"$out" || fail "dnf refused the forged repository, but not on its signature:
$out"
ok "dnf makecache verified repomd.xml, listed and downloaded both packages (signatures OK); the forged copy: $(grep -o 'repomd.xml GPG signature verification error: [A-Za-z ]*' <<<"$out" | head -1)"
# dnf's key rings start a gpg-agent each, which would outlive the test.
pkill -f "gpg-agent --homedir $DNF/" 2>/dev/null || true

step "1b. install in a chroot, without systemd running (an image build)"
chroot "$ROOT" sh -c 'cd /root/debs && DEBIAN_FRONTEND=noninteractive apt-get install -y -q ./sysmon-consumer_*.deb ./sysmon-publisher_*.deb' \
	>"$CACHE/run/chroot-install.log" 2>&1 || { cat "$CACHE/run/chroot-install.log"; fail "apt-get install in a chroot"; }
for unit in sysmon-publisher sysmon-consumer; do
	[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/$unit.service" ] || fail "$unit not enabled by the chroot install"
done
ok "installed and enabled without systemd; purging again for step 1"
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q sysmon-publisher sysmon-consumer \
	>>"$CACHE/run/chroot-install.log" 2>&1 || { cat "$CACHE/run/chroot-install.log"; fail "apt-get purge in a chroot"; }
[ ! -e "$ROOT/etc/sysmon" ] || fail "purge in a chroot left /etc/sysmon"
chroot "$ROOT" getent passwd sysmon >/dev/null || fail "purge removed the sysmon user"
# Step 1 must create the user itself, as on a new machine.
chroot "$ROOT" userdel sysmon
chroot "$ROOT" sh -c '! getent group sysmon >/dev/null || groupdel sysmon'

step "1c. boot the container"
NSPAWN_PID= CPID=
in_ct() { nsenter -t "$CPID" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
poweroff() {
	local rc=$? i
	[ -z "${HTTP_PID:-}" ] || kill "$HTTP_PID" 2>/dev/null || true
	if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
		echo
		say "== powering the container off"
		[ -n "$CPID" ] && in_ct systemctl poweroff >/dev/null 2>&1 || true
		for i in $(seq 60); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
		if kill -0 "$NSPAWN_PID" 2>/dev/null; then
			say "still running after 30 s: terminating systemd-nspawn ($NSPAWN_PID)"
			kill "$NSPAWN_PID" 2>/dev/null || true
			wait "$NSPAWN_PID" 2>/dev/null || true
		fi
		say "container stopped (its root stays in $ROOT)"
	fi
	# The packaged consumer's durable queue is on this host's broker: it
	# must not outlive the test (its default expiry is 7 days).
	rabbitmqctl -q delete_queue "sysmon-consumer.$MACHINE" >/dev/null 2>&1 || true
	exit "$rc"
}
trap poweroff EXIT
trap 'exit 130' INT TERM
systemd-nspawn --boot --register=no --keep-unit --quiet --console=passive \
	--machine="$MACHINE" --hostname="$MACHINE" -D "$ROOT" </dev/null >"$CACHE/run/console.log" 2>&1 &
NSPAWN_PID=$!
# The container's PID 1 is the systemd among the descendants of systemd-nspawn.
for _ in $(seq 100); do
	for child in $(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null); do
		for p in "$child" $(ps -o pid= --ppid "$child" 2>/dev/null); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = systemd ] && CPID=$p
		done
	done
	[ -n "$CPID" ] && break
	kill -0 "$NSPAWN_PID" 2>/dev/null || fail "systemd-nspawn exited: $(tail -5 "$CACHE/run/console.log")"
	sleep 0.1
done
[ -n "$CPID" ] || fail "no systemd inside the container after 10 s"
# Until its bus is up, systemctl cannot even ask: retry.
state=
for _ in $(seq 120); do
	state=$(timeout 60 nsenter -t "$CPID" -a systemctl is-system-running --wait 2>/dev/null || true)
	case $state in running | degraded | maintenance | stopping | offline) break ;; esac
	sleep 0.5
done
case $state in running | degraded) ok "booted: $state (container init is host PID $CPID)" ;; *) fail "system state '$state'" ;; esac

step "1f. a repository signed with another key is refused by apt"
in_ct mkdir -p /etc/apt/keyrings /root/forged.d
in_ct curl -fsSL -o /etc/apt/keyrings/sysmon.gpg "$REPO_URL/sysmon.gpg"
in_ct sh -c "curl -fsSL '$REPO_URL/sysmon.sources' | sed 's|/sysmon/deb|/forged/deb|' >/root/forged.d/forged.sources"
if out=$(in_ct apt-get update -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/root/forged.d 2>&1); then
	fail "apt-get update accepted the forged repository:
$out"
fi
grep -q "signatures couldn't be verified\|NO_PUBKEY\|is not signed" <<<"$out" || fail "apt-get update failed, but not on the signature:
$out"
in_ct sh -c '! apt-cache show sysmon-publisher >/dev/null 2>&1' ||
	fail "the forged repository's packages are known to apt: $(in_ct apt-cache policy sysmon-publisher)"
ok "apt-get update refuses it: $(grep -m1 -o "The repository .* is not signed\.\|NO_PUBKEY [0-9A-F]*" <<<"$out" || grep -m1 GPG <<<"$out")"
in_ct rm -rf /root/forged.d

step "1. the user's commands: key, source, apt update, apt install sysmon-publisher sysmon-consumer"
in_ct curl -fsSL -o /etc/apt/keyrings/sysmon.gpg "$REPO_URL/sysmon.gpg"
in_ct curl -fsSL -o /etc/apt/sources.list.d/sysmon.sources "$REPO_URL/sysmon.sources"
in_ct sh -c 'apt update && DEBIAN_FRONTEND=noninteractive apt install -y sysmon-publisher sysmon-consumer' \
	>"$CACHE/run/install.log" 2>&1 || { cat "$CACHE/run/install.log"; fail "apt install from the repository"; }
! grep -q '^W: \|^E: ' "$CACHE/run/install.log" || fail "apt warned: $(grep '^W: \|^E: ' "$CACHE/run/install.log")"
for pkg in sysmon-publisher sysmon-consumer; do
	v=$(in_ct dpkg-query -W -f '${Version}' $pkg)
	[ "$v" = "$VERSION-$RELEASE" ] || fail "$pkg is at '$v', want $VERSION-$RELEASE"
	in_ct sh -c "zcat /usr/share/doc/$pkg/changelog.Debian.gz | head -1 | grep -qF '($VERSION-$RELEASE)'" ||
		fail "$pkg's changelog.Debian.gz does not start with $VERSION-$RELEASE"
	in_ct test -s /usr/lib/sysusers.d/$pkg.conf || fail "no /usr/lib/sysusers.d/$pkg.conf"
	in_ct man -w $pkg >/dev/null 2>&1 || in_ct test -s /usr/share/man/man1/$pkg.1.gz || fail "no man page for $pkg"
done
ok "installed from $REPO_URL: $(in_ct dpkg-query -W -f '${Package} ${Version}  ' sysmon-publisher sysmon-consumer)(changelog, sysusers.d and man page in place)"
pw=$(in_ct getent passwd sysmon)
case $pw in sysmon:x:*:*:sysmon\ daemons:/nonexistent:/usr/sbin/nologin) ok "sysmon user: $pw" ;; *) fail "sysmon user is '$pw'" ;; esac
for unit in sysmon-publisher sysmon-consumer; do
	state=$(in_ct systemctl is-active $unit || true)
	[ "$state" = active ] || fail "$unit is '$state', want active (READY=1 sent)"
	pid=$(in_ct systemctl show -P MainPID $unit)
	user=$(in_ct stat -c %U "/proc/$pid")
	[ "$user" = sysmon ] || fail "$unit runs as '$user', want sysmon"
	[ "$(in_ct systemctl is-enabled $unit)" = enabled ] || fail "$unit is not enabled"
	nofile=$(in_ct awk '/^Max open files/ {print $4}' "/proc/$pid/limits")
	ok "$unit: active, enabled, PID $pid runs as $user, open files limit $nofile"
done
for f in /etc/sysmon/publisher.env /etc/sysmon/consumer.env; do
	perm=$(in_ct stat -c '%a %U:%G' $f)
	[ "$perm" = "640 root:sysmon" ] || fail "$f is $perm, want 640 root:sysmon"
	ok "$f: $perm"
done

step "2. journal"
for _ in $(seq 30); do
	in_ct journalctl -u sysmon-publisher --no-pager -o cat | grep -q 'connected to broker' && break
	sleep 0.5
done
line=$(in_ct journalctl -u sysmon-publisher --no-pager -o cat | grep 'connected to broker' | head -1) ||
	fail "no 'connected to broker' in journalctl -u sysmon-publisher"
ok "journalctl -u sysmon-publisher: $line"
errs=$(in_ct journalctl -p err -b --no-pager -o short | grep -i sysmon || true)
[ -z "$errs" ] || fail "journalctl -p err shows sysmon:
$errs"
ok "journalctl -p err: nothing from sysmon"

# STATUS= tells the broker state; WATCHDOG=1 comes at least every WatchdogSec/2.
for unit in sysmon-publisher sysmon-consumer; do
	status=$(in_ct systemctl show -P StatusText $unit)
	[ -n "$status" ] || fail "$unit sent no STATUS="
	ok "$unit status: $status"
done
declare -A wd0
for unit in sysmon-publisher sysmon-consumer; do wd0[$unit]=$(in_ct systemctl show -P WatchdogTimestampMonotonic $unit); done
for unit in sysmon-publisher sysmon-consumer; do
	limit=$(($(in_ct systemctl show -P WatchdogUSec $unit | sed 's/s$//') + 2))
	for _ in $(seq $((limit * 2))); do
		[ "$(in_ct systemctl show -P WatchdogTimestampMonotonic $unit)" != "${wd0[$unit]}" ] && break
		sleep 0.5
	done
	[ "$(in_ct systemctl show -P WatchdogTimestampMonotonic $unit)" != "${wd0[$unit]}" ] ||
		fail "$unit sent no WATCHDOG=1 within $limit s"
	ok "$unit feeds the watchdog (WatchdogSec=$(in_ct systemctl show -P WatchdogUSec $unit))"
done

step "3. publish and see this host in the consumer"
resp=$(in_ct curl -fsS --max-time 10 localhost:8000/publish) || fail "curl localhost:8000/publish"
echo "$resp" >"$CACHE/run/publish.json"
[ "$(jq -r .status <<<"$resp")" = success ] || fail "/publish answered: $resp"
ok "curl localhost:8000/publish: $(jq -c '{status, message}' <<<"$resp")"
host=$(in_ct hostname)
for _ in $(seq 20); do
	hosts=$(in_ct curl -fsS --max-time 5 localhost:8003/api/hosts || true)
	entry=$(jq -c --arg h "$host" '.hosts[]? | select(.host == $h)' <<<"$hosts" 2>/dev/null || true)
	[ -n "$entry" ] && break
	sleep 0.5
done
[ -n "$entry" ] || fail "GET :8003/api/hosts does not list $host: $hosts"
age=$(($(date +%s) - $(date -d "$(jq -r .last_seen <<<"$entry")" +%s)))
[ "$age" -le 30 ] || fail "$host last seen $age s ago: $entry"
jq -e '.status == "live" and .snapshot.host == $h and (.snapshot.cpu_percent | type) == "number"
	and .snapshot.memory.total > 0' --arg h "$host" <<<"$entry" >/dev/null ||
	fail "$host's entry lacks live figures: $entry"
ok "/api/hosts lists $host: $(jq -c '{status, last_seen, cpu_percent: .snapshot.cpu_percent, memory_total: .snapshot.memory.total}' <<<"$entry")"

step "3b. the publisher's sandbox hides nothing it reports"
# What /publish reported from inside the sandbox, against the container's view.
data=$(jq -c .data <<<"$resp")
mem=$(($(in_ct awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024))
[ "$(jq .memory.total <<<"$data")" = "$mem" ] || fail "memory.total $(jq .memory.total <<<"$data") != /proc/meminfo $mem"
ok "memory.total = $mem bytes, as /proc/meminfo"
ncpu=$(in_ct getconf _NPROCESSORS_ONLN)
[ "$(jq .cpu_count <<<"$data")" = "$ncpu" ] || fail "cpu_count $(jq .cpu_count <<<"$data") != $ncpu"
jq -e '.cpu_percent >= 0 and .cpu_percent <= 100 and (.cpu_per_core | length) == .cpu_count' <<<"$data" >/dev/null ||
	fail "cpu figures: $(jq -c '{cpu_percent, cpu_per_core}' <<<"$data")"
ok "cpu_count = $ncpu, cpu_percent = $(jq .cpu_percent <<<"$data")"
want_if=$(in_ct awk -F: 'NR > 2 {gsub(/ /, "", $1); if ($1 != "lo") print $1}' /proc/net/dev | sort | tr '\n' ' ')
got_if=$(jq -r '.network.interfaces[].name' <<<"$data" | sort | tr '\n' ' ')
[ "$want_if" = "$got_if" ] || fail "network interfaces '$got_if', want '$want_if' (/proc/net/dev without lo)"
ok "network interfaces: $got_if"
# Every device with a real file system in the container is reported, with the
# size that statfs gives outside the sandbox.
want_dev=$(in_ct df -x tmpfs -x devtmpfs -x overlay -x squashfs --output=source | tail -n +2 | sort -u | tr '\n' ' ')
got_dev=$(jq -r '.filesystems[].device' <<<"$data" | sort -u | tr '\n' ' ')
[ "$want_dev" = "$got_dev" ] || fail "file systems on '$got_dev', want '$want_dev' (df in the container)"
while read -r mp total; do
	size=$(in_ct df -B1 --output=size "$mp" | tail -1 | tr -d ' ')
	[ "$size" = "$total" ] || fail "$mp: total $total, df says $size"
	ok "file system $mp: $total bytes, as df"
done < <(jq -r '.filesystems[] | "\(.mountpoint) \(.total)"' <<<"$data")
for unit in sysmon-publisher sysmon-consumer; do
	sec=$(in_ct systemd-analyze security --threshold=25 --no-pager $unit.service) || fail "$unit exposure above 2.5:
$sec"
	ok "$(grep -o 'Overall exposure.*' <<<"$sec")"
done

step "4. $UPGRADE_VERSION-$RELEASE added to the repository; apt upgrade keeps an edited env file and restarts the services"
marker="# edited by the install test $(date -u +%FT%TZ)"
in_ct sh -c "echo '$marker' >>/etc/sysmon/publisher.env"
# History (in /var/lib/sysmon-consumer) must survive the upgrade: the points
# filed before it are answered after it, by the new version.
history_points() { # FROM TO: this host's CPU points in [FROM, TO] (unix seconds)
	in_ct curl -fsS --max-time 10 "localhost:8003/api/hosts/$host/history?from=$1&to=$2" |
		jq '.figures.cpu.mean // [] | map(select(. != null)) | length'
}
in_ct curl -fsS --max-time 10 -o /dev/null localhost:8000/publish || fail "curl localhost:8000/publish before the upgrade"
sleep 2 # the consumer writes its history log every second
hist_to=$(date +%s)
hist_from=$((hist_to - 3600))
hist_before=$(history_points "$hist_from" "$hist_to") || fail "GET /api/hosts/$host/history before the upgrade"
[ "$hist_before" -gt 0 ] || fail "no history for $host before the upgrade: $(in_ct curl -sS "localhost:8003/api/hosts/$host/history")"
declare -A inv
for unit in sysmon-publisher sysmon-consumer; do inv[$unit]=$(in_ct systemctl show -P InvocationID $unit); done
SYSMON_SIGNING_KEY=$CACHE/run/signing-key.asc packaging/repo.sh add "$WWW/sysmon" "${updebs[@]}" "${uprpms[@]}" \
	>>"$CACHE/run/repo.log" 2>&1 || { cat "$CACHE/run/repo.log"; fail "packaging/repo.sh add (upgrade)"; }
# As an unattended upgrade does it: when the shipped env file changed too, keep
# the administrator's (dpkg puts the new one beside it as .dpkg-dist) instead
# of asking on a terminal there is none of.
in_ct sh -c 'apt update && DEBIAN_FRONTEND=noninteractive apt upgrade -y \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold' \
	>"$CACHE/run/upgrade.log" 2>&1 || { cat "$CACHE/run/upgrade.log"; fail "apt upgrade"; }
for pkg in sysmon-publisher sysmon-consumer; do
	v=$(in_ct dpkg-query -W -f '${Version}' $pkg)
	[ "$v" = "$UPGRADE_VERSION-$RELEASE" ] || fail "$pkg is at $v after apt upgrade"
	bv=$(in_ct $pkg -version)
	case $bv in *"$UPGRADE_VERSION"*) ok "upgraded: dpkg says $pkg $v, $pkg -version says '$bv'" ;; *) fail "$pkg -version says '$bv'" ;; esac
	pid=$(in_ct systemctl show -P MainPID $pkg)
	run=$(in_ct sh -c "readlink /proc/$pid/exe; /proc/$pid/exe -version" 2>&1) || true
	case $run in *"$UPGRADE_VERSION"*) ok "the running $pkg (PID $pid) is the new binary" ;; *) fail "the running $pkg is not the new version: $run" ;; esac
done
# The older version stays in the repository, installable by version.
old=$(in_ct apt-cache madison sysmon-publisher | grep -c "$VERSION-$RELEASE\|$UPGRADE_VERSION-$RELEASE")
[ "$old" = 2 ] || fail "apt-cache madison sysmon-publisher: $(in_ct apt-cache madison sysmon-publisher)"
ok "both versions are offered: $(in_ct apt-cache madison sysmon-publisher | awk '{print $3}' | tr '\n' ' ')"
in_ct grep -qxF "$marker" /etc/sysmon/publisher.env || fail "the edit of publisher.env was lost"
perm=$(in_ct stat -c '%a %U:%G' /etc/sysmon/publisher.env)
[ "$perm" = "640 root:sysmon" ] || fail "publisher.env is $perm after the upgrade"
# The upgrade package ships a changed env file (packaging.mk): dpkg keeps the
# edited one and puts the new one beside it, as unreadable to others.
dist=$(in_ct stat -c '%a %U:%G' /etc/sysmon/publisher.env.dpkg-dist 2>/dev/null) ||
	fail "no publisher.env.dpkg-dist beside the edited file"
[ "$dist" = "640 root:sysmon" ] || fail "publisher.env.dpkg-dist is $dist"
ok "publisher.env kept its edit and $perm; the new shipped version is beside it as .dpkg-dist ($dist)"
in_ct grep -q 'changed in the' /etc/sysmon/consumer.env || fail "the unedited consumer.env was not updated"
ok "the unedited consumer.env was updated to the shipped version"
for unit in sysmon-publisher sysmon-consumer; do
	now=$(in_ct systemctl show -P InvocationID $unit)
	[ "$now" != "${inv[$unit]}" ] || fail "$unit was not restarted by the upgrade"
	[ "$(in_ct systemctl is-active $unit || true)" = active ] || fail "$unit is not active after the upgrade"
	ok "$unit restarted by the upgrade and active"
done
for _ in $(seq 20); do
	in_ct curl -fsS --max-time 2 -o /dev/null localhost:8003/readyz 2>/dev/null && break
	sleep 0.5
done
hist_after=$(history_points "$hist_from" "$hist_to") || fail "GET /api/hosts/$host/history after the upgrade"
[ "$hist_after" -ge "$hist_before" ] ||
	fail "history lost in the upgrade: $hist_before CPU points before it, $hist_after of the same hour after"
in_ct test -d /var/lib/sysmon-consumer || fail "no /var/lib/sysmon-consumer (StateDirectory=)"
ok "history kept across the upgrade: $hist_after CPU points of the hour before it, $hist_before before ($(in_ct du -sh /var/lib/sysmon-consumer | cut -f1) in /var/lib/sysmon-consumer)"

step "5. a broken env file: restart fails fast, the journal names file, line and key, no restart loop"
in_ct cp -p /etc/sysmon/publisher.env /root/publisher.env.good
in_ct sh -c 'echo APP_PORT=eighty >>/etc/sysmon/publisher.env'
badline=$(in_ct wc -l /etc/sysmon/publisher.env | awk '{print $1}')
since=$(in_ct date '+%Y-%m-%d %H:%M:%S')
s0=$(date +%s%N)
if out=$(in_ct timeout 30 systemctl restart sysmon-publisher 2>&1); then fail "systemctl restart succeeded with a broken env file"; fi
ms=$((($(date +%s%N) - s0) / 1000000))
[ "$ms" -lt 5000 ] || fail "systemctl restart took $ms ms to fail"
ok "systemctl restart failed after $ms ms: $(head -1 <<<"$out")"
sleep 4 # longer than RestartSec=2s: a restart would have happened by now
st=$(in_ct systemctl show -p ActiveState -p Result -p ExecMainStatus -p NRestarts sysmon-publisher | sort | tr '\n' ' ')
want="ActiveState=failed ExecMainStatus=78 NRestarts=0 Result=exit-code "
[ "$st" = "$want" ] || fail "after the failed restart: '$st', want '$want'"
ok "no restart loop: $st"
msg=$(in_ct journalctl -u sysmon-publisher --since "$since" --no-pager -o cat | grep -F "/etc/sysmon/publisher.env:$badline: APP_PORT" || true)
[ -n "$msg" ] || fail "the journal does not name /etc/sysmon/publisher.env:$badline: APP_PORT:
$(in_ct journalctl -u sysmon-publisher --since "$since" --no-pager -o cat)"
ok "journal: $msg"
in_ct journalctl -u sysmon-publisher --since "$since" -p err --no-pager -o cat | grep -qF "publisher.env:$badline: APP_PORT" ||
	fail "the configuration error is not logged at priority err"
ok "logged at priority err"
in_ct cp -p /root/publisher.env.good /etc/sysmon/publisher.env
in_ct systemctl restart sysmon-publisher || fail "restart with the repaired env file"
ok "env file repaired: sysmon-publisher $(in_ct systemctl is-active sysmon-publisher)"

step "6. stop within the stop timeout; remove and purge leave nothing behind"
for unit in sysmon-publisher sysmon-consumer; do
	limit=$(in_ct systemctl show -P TimeoutStopUSec $unit)
	s0=$(date +%s%N)
	in_ct systemctl stop $unit
	ms=$((($(date +%s%N) - s0) / 1000000))
	res=$(in_ct systemctl show -P Result $unit)
	[ "$res" = success ] || fail "$unit stopped with result '$res' (killed at the timeout?)"
	[ "$ms" -lt 10000 ] || fail "$unit took $ms ms to stop"
	ok "$unit stopped in $ms ms (TimeoutStopSec $limit), result $res"
done
in_ct systemctl start sysmon-publisher sysmon-consumer
in_ct env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q sysmon-publisher sysmon-consumer >"$CACHE/run/remove.log" 2>&1 ||
	{ cat "$CACHE/run/remove.log"; fail "apt-get remove"; }
for unit in sysmon-publisher sysmon-consumer; do
	state=$(in_ct systemctl is-active $unit || true)
	[ "$state" = inactive ] || fail "$unit is '$state' after remove"
	in_ct test ! -e /usr/bin/$unit -a ! -e /usr/lib/systemd/system/$unit.service || fail "$unit's binary or unit left after remove"
done
ok "removed: services stopped, binaries and units gone; env files kept until purge: $(in_ct sh -c 'echo /etc/sysmon/*')"
in_ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q sysmon-publisher sysmon-consumer >"$CACHE/run/purge.log" 2>&1 ||
	{ cat "$CACHE/run/purge.log"; fail "apt-get purge"; }
left=$(in_ct sh -c 'ls -d /etc/sysmon /usr/bin/sysmon-* /usr/lib/systemd/system/sysmon-* /etc/systemd/system/*/sysmon-* \
	/var/lib/systemd/deb-systemd-helper-enabled/*sysmon* 2>/dev/null; dpkg-statoverride --list | grep sysmon' || true)
[ -z "$left" ] || fail "purge left: $left"
[ -z "$(in_ct systemctl list-units --all --no-legend 'sysmon-*')" ] || fail "systemd still knows: $(in_ct systemctl list-units --all --no-legend 'sysmon-*')"
in_ct getent passwd sysmon >/dev/null || fail "the sysmon user was removed"
ok "purged: no unit, binary, env file, enablement link or stat override left; the sysmon user stays"

step "7. the RPMs' scriptlets, with Fedora's policy: user created, not started on install, restarted on upgrade, stopped on erase"
# Debian's rpm wants --force-debian; --nodeps since its database knows no
# shadow-utils. Fedora's systemd-update-helper is absent, so the scriptlets'
# systemctl fallback (RHEL 8's %systemd_* macros) runs. Fedora disables
# every unit that no preset names.
in_ct userdel sysmon
in_ct sh -c '! getent group sysmon >/dev/null || groupdel sysmon'
in_ct sh -c 'mkdir -p /etc/systemd/system-preset && echo "disable *" >/etc/systemd/system-preset/99-default-disable.preset'
rpmi() { in_ct sh -c "rpm --force-debian --nodeps $*" >>"$CACHE/run/rpm.log" 2>&1 || { cat "$CACHE/run/rpm.log"; fail "rpm $*"; }; }
rpmi -i /root/rpms/*.rpm
in_ct getent passwd sysmon >/dev/null || fail "%pre created no sysmon user"
for unit in sysmon-publisher sysmon-consumer; do
	st="$(in_ct systemctl is-enabled $unit || true) $(in_ct systemctl is-active $unit || true)"
	[ "$st" = "disabled inactive" ] || fail "$unit after rpm -i: '$st', want 'disabled inactive' (Fedora presets)"
done
perm=$(in_ct stat -c '%a %U:%G' /etc/sysmon/publisher.env)
[ "$perm" = "640 root:sysmon" ] || fail "publisher.env is $perm after rpm -i"
ok "rpm -i: sysmon user created, env file $perm, units disabled and stopped as presets say"
in_ct systemctl start sysmon-publisher sysmon-consumer || fail "systemctl start after rpm -i"
in_ct sh -c "echo '$marker' >>/etc/sysmon/publisher.env"
for unit in sysmon-publisher sysmon-consumer; do inv[$unit]=$(in_ct systemctl show -P InvocationID $unit); done
rpmi -U /root/rpms-upgrade/*.rpm
for unit in sysmon-publisher sysmon-consumer; do
	[ "$(in_ct systemctl show -P InvocationID $unit)" != "${inv[$unit]}" ] || fail "$unit was not restarted by rpm -U"
	[ "$(in_ct systemctl is-active $unit || true)" = active ] || fail "$unit is not active after rpm -U"
done
in_ct grep -qxF "$marker" /etc/sysmon/publisher.env || fail "rpm -U lost the edit of publisher.env"
in_ct test -e /etc/sysmon/publisher.env.rpmnew || fail "no publisher.env.rpmnew beside the edited file"
ok "rpm -U to $UPGRADE_VERSION: both services restarted, the edited env file kept, the new one as .rpmnew"
rpmi -e sysmon-publisher sysmon-consumer
for unit in sysmon-publisher sysmon-consumer; do
	[ "$(in_ct systemctl is-active $unit || true)" = inactive ] || fail "$unit still runs after rpm -e"
	in_ct test ! -e /usr/bin/$unit -a ! -e /usr/lib/systemd/system/$unit.service || fail "rpm -e left $unit's files"
done
ok "rpm -e: services stopped, files gone; left as rpm does: $(in_ct sh -c 'ls /etc/sysmon/ 2>/dev/null | tr "\n" " "')"

echo
say "test-packages: all steps passed"
