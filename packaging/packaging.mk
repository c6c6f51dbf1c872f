# packaging/packaging.mk: the .deb and .rpm packages (issue #3), included from
# the top Makefile, which sets VERSION and GO. Output goes to dist/ (git-ignored).
#
#   make package         static binaries for amd64 and arm64, then sysmon-publisher
#                        and sysmon-consumer as .deb and .rpm for both (nfpm.yaml)
#   make package-check   lintian, rpmlint, systemd-analyze verify/security, and
#                        dpkg-deb / rpm -qp checks of files, modes, scripts, dependencies
#   make test-packages   installs the .debs on a booted Debian bookworm (systemd-nspawn)
#                        against this host's RabbitMQ, upgrades, breaks, removes, purges
#
# The scripts install the Debian packages they need (lintian, rpm, rpmlint,
# debootstrap, systemd-container...) when missing. test-packages caches its root
# file system in $(PKG_TEST_CACHE), outside the repository.

PKG_OUT         ?= dist
PKG_TEST_CACHE  ?= /var/cache/sysmon-test
# A newer version of the same code, only for the upgrade step of test-packages.
PKG_UPGRADE_VERSION ?= $(VERSION)+upgradetest

.PHONY: package package-check test-packages packaging-tools

# Every Debian package the two checks use, installed in one go (one apt-get
# update) when any is missing; the scripts check again for their own.
packaging-tools:
	@packaging/ensure-tools.sh lintian=lintian rpm=rpm rpmlint=rpmlint systemd-analyze=systemd \
		debootstrap=debootstrap systemd-nspawn=systemd-container zstd=zstd ss=iproute2 ps=procps \
		/usr/share/keyrings/debian-archive-keyring.gpg=debian-archive-keyring

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
