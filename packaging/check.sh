#!/usr/bin/env bash
# check.sh: the body of `make package-check`, run on the packages that
# `make package` left in $OUT (dist). Fails on the first check that fails.
#   - lintian on every .deb: no error and no warning (overrides carry their reason)
#   - rpmlint on every .rpm: no error (packaging/rpmlint.toml)
#   - systemd-analyze verify on both units as packaged, and
#     systemd-analyze security: exposure at most 2.5 ("OK") for both
#   - dpkg-deb / rpm -qp: files, modes, owners, conffiles, scripts, dependencies
#   - the packaged binary's -version is the package's version
set -euo pipefail

: "${VERSION:?VERSION must be set (the top Makefile sets it)}"
OUT=${OUT:-dist}
PACKAGES="sysmon-publisher sysmon-consumer"
RELEASE=$(sed -n 's/^release: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' nfpm.yaml)
MAX_EXPOSURE=25 # systemd-analyze --threshold is in tenths: 25 is 2.5, "OK"

packaging/ensure-tools.sh lintian=lintian rpm=rpm rpmlint=rpmlint \
	systemd-analyze=systemd dpkg-deb=dpkg qemu-aarch64-static=qemu-user-static python3=python3

fail() { echo "FAIL: $*" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

debs=() rpms=()
for pkg in $PACKAGES; do
	for arch in amd64 arm64; do
		f=$OUT/${pkg}_$VERSION-${RELEASE}_$arch.deb
		[ -f "$f" ] || fail "$f is missing: run 'make package' first"
		debs+=("$f")
	done
	for arch in x86_64 aarch64; do
		f=$OUT/$pkg-$VERSION-$RELEASE.$arch.rpm
		[ -f "$f" ] || fail "$f is missing: run 'make package' first"
		rpms+=("$f")
	done
done

echo "== lintian ${debs[*]##*/}"
lintian --fail-on error,warning --display-info "${debs[@]}" 2>&1 |
	grep -v '^running with root privileges' || true
lintian --fail-on error,warning "${debs[@]}" >/dev/null 2>&1 || fail "lintian (output above)"

echo "== rpmlint ${rpms[*]##*/}"
# nfpm writes absolute paths into the rpm's cpio payload, and rpmlint unpacks it
# with a plain `cpio -id`, which would write the files into / itself: give it a
# cpio that keeps them in its temporary folder.
mkdir "$tmp/bin"
printf '#!/bin/sh\nexec %s --no-absolute-filenames "$@"\n' "$(command -v cpio)" >"$tmp/bin/cpio"
chmod +x "$tmp/bin/cpio"
PATH=$tmp/bin:$PATH rpmlint -c packaging/rpmlint.toml "${rpms[@]}" || fail "rpmlint (output above)"

# The amd64 packages unpacked into one root, with the host's own units beside
# them so that verify can resolve multi-user.target and friends.
root=$tmp/root
for pkg in $PACKAGES; do dpkg-deb -x "$OUT/${pkg}_$VERSION-${RELEASE}_amd64.deb" "$root"; done
cp -rn /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"

echo "== systemd-analyze verify"
for pkg in $PACKAGES; do
	# verify also runs man for each Documentation=man: page: the packaged one.
	out=$(MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" "$pkg.service" 2>&1) || fail "verify $pkg.service: $out"
	[ -z "$out" ] || fail "verify $pkg.service: $out"
	echo "$pkg.service: ok"
done

echo "== systemd-analyze security (exposure, 0 best .. 10 worst; at most 2.5 allowed)"
for pkg in $PACKAGES; do
	out=$(systemd-analyze security --offline=true --threshold=$MAX_EXPOSURE --no-pager \
		"$root/usr/lib/systemd/system/$pkg.service" 2>&1) || {
		echo "$out"
		fail "$pkg.service exposure above 2.5"
	}
	echo "$out" | grep 'Overall exposure level'
done

echo "== -version"
for pkg in $PACKAGES; do
	v=$("$root/usr/bin/$pkg" -version 2>&1) || fail "$pkg -version: $v"
	case $v in *"$VERSION"*) echo "$pkg -version: $v" ;; *) fail "$pkg -version printed '$v', want $VERSION" ;; esac
done

# The arm64 packages' binaries, run by qemu-user-static on this host: each
# prints its version and checks the env file it ships, and the publisher takes
# one real sample (of this host: /proc and /sys are the same under qemu-user).
echo "== arm64 binaries under qemu-aarch64-static"
root64=$tmp/root-arm64
for pkg in $PACKAGES; do dpkg-deb -x "$OUT/${pkg}_$VERSION-${RELEASE}_arm64.deb" "$root64"; done
for pkg in $PACKAGES; do
	bin=$root64/usr/bin/$pkg role=${pkg#sysmon-}
	file -b "$bin" 2>/dev/null | grep -q 'ARM aarch64' || [ "$(od -An -tx1 -j18 -N2 "$bin" | tr -d ' ')" = b700 ] ||
		fail "$bin is not an arm64 executable"
	v=$(qemu-aarch64-static "$bin" -version 2>&1) || fail "arm64 $pkg -version: $v"
	case $v in *"$VERSION"*) ;; *) fail "arm64 $pkg -version printed '$v', want $VERSION" ;; esac
	out=$(env -i PATH=/usr/bin:/bin qemu-aarch64-static "$bin" -config "$root64/etc/sysmon/$role.env" -check-config 2>&1) ||
		fail "arm64 $pkg -check-config of the shipped $role.env: $out"
	grep -q "configuration OK" <<<"$out" || fail "arm64 $pkg -check-config: $out"
	echo "$pkg (arm64): $v; -check-config of the shipped $role.env: OK"
done
snap=$(env -i PATH=/usr/bin:/bin qemu-aarch64-static "$root64/usr/bin/sysmon-publisher" \
	-config "$root64/etc/sysmon/publisher.env" -print 2>"$tmp/print.err") ||
	fail "arm64 sysmon-publisher -print: $(cat "$tmp/print.err")"
python3 -c '
import json, sys
s = json.loads(sys.argv[1])
want = {"host": str, "cpu_count": int, "cpu_percent": (int, float), "agent_version": str}
for k, t in want.items():
    assert isinstance(s.get(k), t), f"{k} is {s.get(k)!r}"
assert s["memory"]["total"] > 0 and s["agent_version"] == sys.argv[2], s
print("sysmon-publisher (arm64) -print: host %s, %d CPUs at %s%%, memory %d bytes" % (s["host"], s["cpu_count"], s["cpu_percent"], s["memory"]["total"]))
' "$snap" "$VERSION" || fail "arm64 sysmon-publisher -print printed: $snap"

# expect WHAT GOT WANT...: every WANT line must be in GOT.
expect() {
	local what=$1 got=$2 line
	shift 2
	for line in "$@"; do
		grep -qxF -- "$line" <<<"$got" || fail "$what: no line '$line' in:
$got"
	done
}

echo "== dpkg-deb: contents, conffiles, scripts, fields"
for f in "${debs[@]}"; do
	pkg=$(dpkg-deb -f "$f" Package) role=${pkg#sysmon-}
	contents=$(dpkg-deb -c "$f" | awk '{print $1, $2, $6}')
	expect "$f contents" "$contents" \
		"-rwxr-xr-x root/root ./usr/bin/$pkg" \
		"-rw-r--r-- root/root ./usr/lib/systemd/system/$pkg.service" \
		"-rw-r----- root/sysmon ./etc/sysmon/$role.env" \
		"-rw-r--r-- root/root ./usr/share/doc/$pkg/copyright" \
		"-rw-r--r-- root/root ./usr/share/man/man1/$pkg.1.gz" \
		"-rw-r--r-- root/root ./usr/lib/sysusers.d/$pkg.conf"
	grep -q " ./usr/share/doc/$pkg/changelog.Debian.gz$" <<<"$contents" || fail "$f has no changelog.Debian.gz"
	if [ "$pkg" = sysmon-consumer ]; then
		expect "$f contents" "$contents" \
			"-rw-r--r-- root/root ./usr/share/$pkg/monitoring/sysmon-alerts.yml" \
			"-rw-r--r-- root/root ./usr/share/$pkg/monitoring/prometheus-scrape.yml" \
			"-rw-r--r-- root/root ./usr/share/$pkg/monitoring/grafana-dashboard.json"
	elif grep -q monitoring <<<"$contents"; then
		fail "$f ships the monitoring files: they belong to sysmon-consumer"
	fi
	dpkg-deb --fsys-tarfile "$f" >"$tmp/data.tar"
	tar -xOf "$tmp/data.tar" ./usr/share/man/man1/$pkg.1.gz | zcat >"$tmp/$pkg.1"
	grep -q "^\.TH .* \"sysmon $VERSION\"" "$tmp/$pkg.1" || fail "$f: the man page's .TH has no version $VERSION"
	tok=$(grep -v '^\.\\"' "$tmp/$pkg.1" | grep -o '@[A-Z]*@' || true)
	[ -z "$tok" ] || fail "$f: the man page has unfilled tokens: $tok"
	# Every flag of the shared command line (internal/daemon), and -print.
	flags=$(sed -n 's/.*fs\.[A-Za-z]*Var(&f\.[A-Za-z]*, "\([a-z-]*\)".*/\1/p' internal/daemon/daemon.go)
	[ "$pkg" = sysmon-publisher ] && flags="$flags print"
	for fl in $flags; do
		esc=${fl//-/\\-}
		grep -qF -- "\\-$esc" "$tmp/$pkg.1" || fail "$f: the man page does not document -$fl"
	done
	for key in $(sed -n 's/^#\{0,1\}\([A-Z][A-Z0-9_]*\)=.*/\1/p' "etc/sysmon/$role.env"); do
		grep -qx "\.B $key" "$tmp/$pkg.1" || fail "$f: the man page does not list $key"
	done
	dpkg-deb --ctrl-tarfile "$f" | tar -x -C "$tmp" ./conffiles ./postinst ./prerm ./postrm
	expect "$f conffiles" "$(cat "$tmp/conffiles")" "/etc/sysmon/$role.env"
	grep -q "adduser --system" "$tmp/postinst" || fail "$f postinst creates no user"
	grep -q "systemd-sysusers .*$pkg.conf" "$tmp/postinst" || fail "$f postinst does not run systemd-sysusers"
	grep -q "deb-systemd-invoke \"\$_action\" \"\$UNIT\"" "$tmp/postinst" || fail "$f postinst starts nothing"
	grep -q "^UNIT=$pkg.service$" "$tmp/prerm" || fail "$f prerm is not for $pkg"
	expect "$f fields" "$(dpkg-deb -f "$f" Package Version Depends Suggests Homepage)" \
		"Package: $pkg" "Version: $VERSION-$RELEASE" "Depends: adduser" \
		"Suggests: rabbitmq-server" "Homepage: https://github.com/sysmon-dev/sysmon"
	echo "$f: ok"
done

echo "== rpm -qp: files, modes, owners, scripts, dependencies"
for f in "${rpms[@]}"; do
	pkg=$(rpm -qp --qf '%{NAME}' "$f") role=${pkg#sysmon-}
	files=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES} %{FILEFLAGS:fflags}\n]' "$f" | sed 's/ $//')
	expect "$f files" "$files" \
		"-rwxr-xr-x root:root /usr/bin/$pkg" \
		"-rw-r--r-- root:root /usr/lib/systemd/system/$pkg.service" \
		"-rw-r----- root:sysmon /etc/sysmon/$role.env cn" \
		"-rw-r--r-- root:root /usr/share/licenses/$pkg/copyright l" \
		"-rw-r--r-- root:root /usr/share/man/man1/$pkg.1.gz d" \
		"-rw-r--r-- root:root /usr/lib/sysusers.d/$pkg.conf"
	[ "$pkg" != sysmon-consumer ] || expect "$f files" "$files" \
		"-rw-r--r-- root:root /usr/share/$pkg/monitoring/sysmon-alerts.yml"
	scripts=$(rpm -qp --scripts "$f")
	for want in "groupadd -r sysmon" "useradd -r -g sysmon" "$(grep '^u ' packaging/sysusers.d/sysmon.conf)" \
		"systemd-sysusers --replace=/usr/lib/sysusers.d/$pkg.conf -" "install-system-units $pkg.service" \
		"remove-system-units $pkg.service" "mark-restart-system-units $pkg.service"; do
		grep -qF -- "$want" <<<"$scripts" || fail "$f scripts: no '$want'"
	done
	# Static binary: nothing but the user-creation tool and rpm's own features.
	requires=$(rpm -qp --requires "$f" | grep -v '^rpmlib(' | sort -u | tr '\n' ' ')
	[ "$requires" = "shadow-utils " ] || fail "$f requires '$requires', want 'shadow-utils'"
	expect "$f suggests" "$(rpm -qp --suggests "$f")" "rabbitmq-server"
	expect "$f info" "$(rpm -qp --qf 'Version: %{VERSION}-%{RELEASE}\nLicense: %{LICENSE}\nURL: %{URL}\n' "$f")" \
		"Version: $VERSION-$RELEASE" "License: MIT" "URL: https://github.com/sysmon-dev/sysmon"
	echo "$f: ok"
done
echo "== package-check: all passed"
