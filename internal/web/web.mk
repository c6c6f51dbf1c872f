# Dashboard targets, included from the top Makefile.
#   make ensure-browser   install Debian's Chromium for the browser tests when missing
#   make screenshots      refresh internal/web/screenshots/*.png (used by README)

CHROMIUM ?= /usr/bin/chromium
WEB_SCREENSHOT_DIR := internal/web/screenshots

.PHONY: ensure-browser screenshots

# The browser tests drive a real headless Chromium through chromedp; test tools
# cannot download browsers here, so it comes from Debian's package.
ensure-browser:
	@if [ -x $(CHROMIUM) ]; then echo "== Chromium present: $$($(CHROMIUM) --version 2>/dev/null)"; else \
	  echo "== $(CHROMIUM) is missing: installing Debian's chromium package"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && \
	  echo "== installed: $$($(CHROMIUM) --version 2>/dev/null)"; fi

screenshots: ensure-browser ensure-broker
	@mkdir -p $(WEB_SCREENSHOT_DIR)
	SYSMON_SCREENSHOT_DIR=$(CURDIR)/$(WEB_SCREENSHOT_DIR) $(GO) test -race -count=1 -run 'TestDashboardBrowser|TestHistoryBrowser$$|TestDashboardBigHosts|TestDashboardViews' ./cmd/sysmon-consumer/
	@ls -l $(WEB_SCREENSHOT_DIR)/*.png
