#!/usr/bin/env bash
# build.sh: the body of `make package`. Builds the static binaries for each
# architecture, renders nfpm.yaml and the maintainer scripts once per package,
# and runs nfpm for each package, format and architecture.
#
#   packaging/build.sh [binaries|packages|all]     (default: all)
#
# Environment: VERSION (required), GO (go), OUT (dist), ARCHES ("amd64 arm64"),
# FORMATS ("deb rpm"), ETC (etc/sysmon: where the env files to ship are).
# Run from the top of the repository.
set -euo pipefail

: "${VERSION:?VERSION must be set (the top Makefile sets it)}"
GO=${GO:-go}
OUT=${OUT:-dist}
ARCHES=${ARCHES:-amd64 arm64}
FORMATS=${FORMATS:-deb rpm}
ETC=${ETC:-etc/sysmon}
BUILD=$OUT/build
PACKAGES="sysmon-publisher sysmon-consumer"

binaries() {
	local arch
	for arch in $ARCHES; do
		echo "== go build linux/$arch (version $VERSION)"
		mkdir -p "$BUILD/linux-$arch"
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$GO" build -trimpath \
			-ldflags "-s -w -X main.version=$VERSION" \
			-o "$BUILD/linux-$arch/" ./cmd/sysmon-publisher ./cmd/sysmon-consumer
	done
}

# render FILE: the tokens of nfpm.yaml and the scripts, for package $pkg; the
# lines from "#@consumer-only" to "#@end" are for sysmon-consumer only.
render() {
	local only=
	[ "$pkg" = sysmon-consumer ] || only='/#@consumer-only/,/#@end/d'
	sed -e "$only" -e "s|@PKG@|$pkg|g" -e "s|@ROLE@|${pkg#sysmon-}|g" -e "s|@BUILD@|$BUILD|g" -e "s|@ETC@|$ETC|g" "$1"
}

# changelog: nfpm writes it as changelog.Debian.gz and as the rpm %changelog.
# One entry for the version being built, so the version stays in one place;
# the changes themselves are in the git history and the release notes.
changelog() {
	local release date
	release=$(sed -n 's/^release: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' nfpm.yaml)
	date=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
	cat <<-END
	- semver: "$VERSION-$release"
	  date: "$date"
	  packager: "$(sed -n 's/^maintainer: *"\(.*\)"$/\1/p' nfpm.yaml)"
	  deb:
	    urgency: medium
	    distributions: [unstable]
	  changes:
	    - note: "sysmon $VERSION (changes: git history and release notes)"
	END
}

packages() {
	local pkg arch fmt f dir
	mkdir -p "$OUT" "$BUILD"
	changelog >"$BUILD/changelog.yml"
	for pkg in $PACKAGES; do
		dir=$BUILD/$pkg
		rm -rf "$dir"
		mkdir -p "$dir/deb" "$dir/rpm"
		render nfpm.yaml >"$dir/nfpm.yaml"
		for f in packaging/scripts/deb/* packaging/scripts/rpm/*; do
			render "$f" >"$dir/${f#packaging/scripts/}"
		done
		chmod 0755 "$dir"/deb/*
		render packaging/lintian-overrides >"$dir/lintian-overrides"
		VERSION=$VERSION packaging/man.sh "packaging/man/$pkg.1" "$ETC/${pkg#sysmon-}.env" | gzip -9n >"$dir/$pkg.1.gz"
		for arch in $ARCHES; do
			test -x "$BUILD/linux-$arch/$pkg" || {
				echo "missing $BUILD/linux-$arch/$pkg: run 'packaging/build.sh binaries' first" >&2
				exit 1
			}
			for fmt in $FORMATS; do
				env -u GOOS -u GOARCH VERSION=$VERSION SYSMON_ARCH=$arch SYSMON_DESCRIPTION="$(cat "packaging/${pkg#sysmon-}.description")" \
					"$GO" tool -modfile=tools/go.mod nfpm pkg --config "$dir/nfpm.yaml" --packager "$fmt" --target "$OUT/"
			done
		done
	done
}

case ${1:-all} in
binaries) binaries ;;
packages) packages ;;
all) binaries && packages ;;
*) echo "usage: $0 [binaries|packages|all]" >&2; exit 2 ;;
esac
