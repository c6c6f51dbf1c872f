# packaging/packaging.mk: the .deb and .rpm packages (issue #3), included from
# the top Makefile, which sets VERSION and GO. Output goes to dist/ (git-ignored).
#
#   make package         static binaries for amd64 and arm64, then sysmon-publisher
#                        and sysmon-consumer as .deb and .rpm for both (nfpm.yaml)
#   make package-check   lintian, rpmlint, systemd-analyze verify/security,
#                        dpkg-deb / rpm -qp checks of files, modes, scripts, dependencies,
#                        man pages, and the arm64 binaries under qemu-aarch64-static
#   make test-packages   installs the .debs on a booted Debian bookworm (systemd-nspawn)
#                        against this host's RabbitMQ from a signed repository served
#                        over HTTP (apt install, apt upgrade), breaks, removes, purges
#   make repo            adds this version's packages to $(REPO), a signed APT and
#                        DNF/YUM repository to publish as it is (packaging/repo.sh);
#                        the key: SYSMON_SIGNING_KEY=armored-secret-key-file or GNUPGHOME
#
# The scripts install the Debian packages they need (lintian, rpm, rpmlint,
# debootstrap, systemd-container...) when missing. test-packages caches its root
# file system in $(PKG_TEST_CACHE), outside the repository.

PKG_OUT         ?= dist
PKG_TEST_CACHE  ?= /var/cache/sysmon-test
# A newer version of the same code, only for the upgrade step of test-packages.
PKG_UPGRADE_VERSION ?= $(VERSION)+upgradetest

# The repository directory that `make repo` adds to (keep it: older versions
# stay in it), and the address it will be served from (empty: the one it was
# made for, else https://packages.example.org/sysmon).
REPO            ?= $(PKG_OUT)/repo
REPO_URL        ?=

.PHONY: package package-check test-packages packaging-tools repo

# Every Debian package the two checks use, installed in one go (one apt-get
# update) when any is missing; the scripts check again for their own.
packaging-tools:
	@packaging/ensure-tools.sh lintian=lintian rpm=rpm rpmlint=rpmlint systemd-analyze=systemd \
		debootstrap=debootstrap systemd-nspawn=systemd-container zstd=zstd ss=iproute2 ps=procps \
		/usr/share/keyrings/debian-archive-keyring.gpg=debian-archive-keyring \
		qemu-aarch64-static=qemu-user-static gpg=gnupg apt-ftparchive=apt-utils createrepo_c=createrepo-c

package:
	VERSION=$(VERSION) GO=$(GO) OUT=$(PKG_OUT) packaging/build.sh all

package-check: package packaging-tools
	VERSION=$(VERSION) OUT=$(PKG_OUT) packaging/check.sh

# The upgrade packages also ship changed env files, the case where dpkg and rpm
# must keep the administrator's edit and put the new file beside it.
test-packages: package packaging-tools ensure-broker
	@rm -rf $(PKG_OUT)/upgrade && mkdir -p $(PKG_OUT)/upgrade/etc
	@for f in etc/sysmon/*.env; do \
		{ cat $$f; echo "# (changed in the $(PKG_UPGRADE_VERSION) test package)"; } >$(PKG_OUT)/upgrade/etc/$${f##*/}; done
	VERSION=$(PKG_UPGRADE_VERSION) GO=$(GO) OUT=$(PKG_OUT)/upgrade ETC=$(PKG_OUT)/upgrade/etc \
		ARCHES=amd64 packaging/build.sh all
	VERSION=$(VERSION) UPGRADE_VERSION=$(PKG_UPGRADE_VERSION) OUT=$(PKG_OUT) \
		SYSMON_TEST_CACHE=$(PKG_TEST_CACHE) packaging/test-install.sh

repo: package
	REPO_URL=$(REPO_URL) packaging/repo.sh add $(REPO) \
		$(PKG_OUT)/sysmon-*_$(VERSION)-*.deb $(PKG_OUT)/sysmon-*-$(VERSION)-*.rpm
