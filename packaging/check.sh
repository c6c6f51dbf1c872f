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
	systemd-analyze=systemd dpkg-deb=dpkg

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
	out=$(systemd-analyze verify --root="$root" "$pkg.service" 2>&1) || fail "verify $pkg.service: $out"
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
		"-rw-r--r-- root/root ./usr/share/man/man1/$pkg.1.gz"
	dpkg-deb --ctrl-tarfile "$f" | tar -x -C "$tmp" ./conffiles ./postinst ./prerm ./postrm
	expect "$f conffiles" "$(cat "$tmp/conffiles")" "/etc/sysmon/$role.env"
	grep -q "adduser --system" "$tmp/postinst" || fail "$f postinst creates no user"
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
		"-rw-r--r-- root:root /usr/share/man/man1/$pkg.1.gz d"
	scripts=$(rpm -qp --scripts "$f")
	for want in "groupadd -r sysmon" "useradd -r -g sysmon" "install-system-units $pkg.service" \
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
