#!/usr/bin/env bash
# repo.sh: the body of `make repo`. Adds packages to a static directory that is
# at the same time a signed APT repository and a signed DNF/YUM repository,
# ready to be served as it is by any web server:
#
#   sysmon.gpg, sysmon.asc     the public key (binary for apt's Signed-By:, armored for dnf)
#   sysmon.sources             deb822 source for /etc/apt/sources.list.d/
#   sysmon.repo                for /etc/yum.repos.d/
#   deb/pool/main/*.deb        every version ever added (older ones stay installable)
#   deb/dists/stable/          Packages for amd64 and arm64, Release, InRelease, Release.gpg
#   rpm/<arch>/*.rpm           signed packages (x86_64, aarch64), rpm/<arch>/repodata/
#                              with repomd.xml and its signature repomd.xml.asc
#
# The indexes are written by apt-ftparchive and createrepo_c, the signatures by
# gpg and rpmsign (Debian packages apt-utils, createrepo-c, rpm, gnupg).
#
#   packaging/repo.sh add REPO_DIR PACKAGE...   add .deb and .rpm files, re-index, re-sign
#   packaging/repo.sh genkey KEY_FILE            write a throwaway signing key (for tests)
#
# Environment:
#   SYSMON_SIGNING_KEY  file with the armored secret key to sign with; or else
#   GNUPGHOME           a GnuPG home holding it (SYSMON_SIGNING_KEY_ID picks one
#                       key there; the default is its first secret key)
#   REPO_URL            where the directory will be published, written into
#                       sysmon.sources and sysmon.repo (default: the one already
#                       in REPO_DIR/sysmon.sources, else https://packages.example.org/sysmon)
#   SUITE               the APT suite (stable)
set -euo pipefail

SUITE=${SUITE:-stable}
DEFAULT_URL=https://packages.example.org/sysmon

die() { echo "repo.sh: $*" >&2; exit 1; }

tools() {
	packaging/ensure-tools.sh gpg=gnupg apt-ftparchive=apt-utils createrepo_c=createrepo-c \
		rpmsign=rpm dpkg-deb=dpkg
}

# genkey FILE: a new RSA signing key without passphrase, armored, in FILE.
genkey() {
	local file=$1 home
	home=$(mktemp -d)
	gpg --homedir "$home" --batch --quiet --passphrase '' \
		--quick-gen-key "sysmon test repository (throwaway) <sysmon-test@invalid>" rsa3072 sign 1d
	gpg --homedir "$home" --batch --armor --export-secret-keys >"$file"
	gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true
	rm -rf "$home"
}

# Sets GNUPGHOME and KEYID from SYSMON_SIGNING_KEY or the caller's GNUPGHOME.
signing_key() {
	if [ -n "${SYSMON_SIGNING_KEY:-}" ]; then
		[ -r "$SYSMON_SIGNING_KEY" ] || die "SYSMON_SIGNING_KEY=$SYSMON_SIGNING_KEY: no such readable file"
		GNUPGHOME=$(mktemp -d)
		export GNUPGHOME
		trap 'gpgconf --kill all >/dev/null 2>&1 || true; rm -rf "$GNUPGHOME"' EXIT
		gpg --batch --quiet --import "$SYSMON_SIGNING_KEY" 2>/dev/null ||
			die "SYSMON_SIGNING_KEY=$SYSMON_SIGNING_KEY is not an armored secret key"
	elif [ -z "${GNUPGHOME:-}" ]; then
		die "no signing key: set SYSMON_SIGNING_KEY to an armored secret key file, or GNUPGHOME
(a throwaway one for tests: packaging/repo.sh genkey KEY_FILE)"
	fi
	KEYID=${SYSMON_SIGNING_KEY_ID:-$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" {print $10; exit}')}
	[ -n "$KEYID" ] || die "no secret key in ${SYSMON_SIGNING_KEY:-GNUPGHOME=$GNUPGHOME}"
	gpg --batch --list-secret-keys "$KEYID" >/dev/null 2>&1 || die "no secret key $KEYID"
}

# Files a user fetches: the public key and the source definitions.
user_files() {
	local repo=$1
	gpg --batch --export "$KEYID" >"$repo/sysmon.gpg"
	gpg --batch --armor --export "$KEYID" >"$repo/sysmon.asc"
	cat >"$repo/sysmon.sources" <<-END
	# sysmon packages: save as /etc/apt/sources.list.d/sysmon.sources, with the
	# key from $REPO_URL/sysmon.gpg in /etc/apt/keyrings/sysmon.gpg
	Types: deb
	URIs: $REPO_URL/deb
	Suites: $SUITE
	Components: main
	Signed-By: /etc/apt/keyrings/sysmon.gpg
	END
	cat >"$repo/sysmon.repo" <<-END
	# sysmon packages: save as /etc/yum.repos.d/sysmon.repo
	[sysmon]
	name=sysmon
	baseurl=$REPO_URL/rpm/\$basearch
	enabled=1
	gpgcheck=1
	repo_gpgcheck=1
	gpgkey=$REPO_URL/sysmon.asc
	END
}

apt_index() {
	local deb=$1 arch dir
	for arch in amd64 arm64; do
		dir=$deb/dists/$SUITE/main/binary-$arch
		mkdir -p "$dir"
		(cd "$deb" && apt-ftparchive --arch "$arch" packages pool/main) >"$dir/Packages"
		gzip -9nc "$dir/Packages" >"$dir/Packages.gz"
	done
	rm -f "$deb/dists/$SUITE/Release" "$deb/dists/$SUITE/InRelease" "$deb/dists/$SUITE/Release.gpg"
	apt-ftparchive \
		-o APT::FTPArchive::Release::Origin=sysmon \
		-o APT::FTPArchive::Release::Label=sysmon \
		-o APT::FTPArchive::Release::Suite="$SUITE" \
		-o APT::FTPArchive::Release::Codename="$SUITE" \
		-o APT::FTPArchive::Release::Architectures="amd64 arm64" \
		-o APT::FTPArchive::Release::Components=main \
		-o APT::FTPArchive::Release::Description="sysmon packages" \
		release "$deb/dists/$SUITE" >"$deb/Release.tmp"
	mv "$deb/Release.tmp" "$deb/dists/$SUITE/Release"
	gpg --batch --yes --local-user "$KEYID" --digest-algo SHA512 --clearsign \
		-o "$deb/dists/$SUITE/InRelease" "$deb/dists/$SUITE/Release"
	gpg --batch --yes --local-user "$KEYID" --digest-algo SHA512 --armor --detach-sign \
		-o "$deb/dists/$SUITE/Release.gpg" "$deb/dists/$SUITE/Release"
}

rpm_index() {
	local dir=$1
	createrepo_c --quiet --update "$dir"
	rm -f "$dir/repodata/repomd.xml.asc"
	gpg --batch --yes --local-user "$KEYID" --armor --detach-sign \
		-o "$dir/repodata/repomd.xml.asc" "$dir/repodata/repomd.xml"
}

add() {
	local repo=$1 f name dst arch
	shift
	[ $# -gt 0 ] || die "no package to add"
	tools
	signing_key
	# The address the repository was made for stays unless REPO_URL changes it.
	if [ -z "${REPO_URL:-}" ] && [ -f "$repo/sysmon.sources" ]; then
		REPO_URL=$(sed -n 's|^URIs: *\(.*\)/deb$|\1|p' "$repo/sysmon.sources")
	fi
	REPO_URL=${REPO_URL:-$DEFAULT_URL}
	REPO_URL=${REPO_URL%/}
	mkdir -p "$repo/deb/pool/main" "$repo/rpm/x86_64" "$repo/rpm/aarch64"
	declare -A rpmdirs=()
	for f in "$@"; do
		name=${f##*/}
		case $name in
		*.deb)
			dpkg-deb --info "$f" >/dev/null || die "$f is not a .deb"
			dst=$repo/deb/pool/main/$name
			;;
		*.rpm)
			arch=${name%.rpm}
			arch=${arch##*.}
			case $arch in x86_64 | aarch64) ;; *) die "$f: architecture '$arch' is neither x86_64 nor aarch64" ;; esac
			dst=$repo/rpm/$arch/$name
			rpmdirs[$arch]=1
			;;
		*) die "$f is neither a .deb nor an .rpm" ;;
		esac
		# A version once published never changes under the same name: users'
		# caches and mirrors hold it already.
		if [ -e "$dst" ]; then
			if [ "${f%.rpm}" = "$f" ] && ! cmp -s "$f" "$dst"; then
				die "$dst exists with other contents: a published version cannot be replaced (raise VERSION)"
			fi
			echo "   $name: already in the repository"
			continue
		fi
		cp "$f" "$dst.tmp"
		if [ "${name%.rpm}" != "$name" ]; then
			rpmsign --addsign --define "_gpg_name $KEYID" --define "_gpg_path $GNUPGHOME" \
				--define "__gpg $(command -v gpg)" "$dst.tmp" >"$dst.log" 2>&1 ||
				die "rpmsign $name failed: $(cat "$dst.log")"
			rm -f "$dst.log"
		fi
		mv "$dst.tmp" "$dst"
		echo "   added $name"
	done
	echo "== APT indexes and signatures ($repo/deb/dists/$SUITE)"
	apt_index "$repo/deb"
	for arch in x86_64 aarch64; do
		echo "== DNF/YUM indexes and signature ($repo/rpm/$arch)"
		rpm_index "$repo/rpm/$arch"
	done
	user_files "$repo"
	echo "== $repo is ready: publish it as it is (key $KEYID, URL $REPO_URL)"
}

case ${1:-} in
add) shift; [ $# -ge 1 ] || die "usage: $0 add REPO_DIR PACKAGE..."; add "$@" ;;
genkey) [ $# -eq 2 ] || die "usage: $0 genkey KEY_FILE"; packaging/ensure-tools.sh gpg=gnupg; genkey "$2" ;;
*) echo "usage: $0 add REPO_DIR PACKAGE... | genkey KEY_FILE" >&2; exit 2 ;;
esac
