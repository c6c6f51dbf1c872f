# sysmon: `make run` starts the whole pipeline locally, `make test` is what CI
# runs. Targets for one area live in an included file beside that area's code.

VERSION ?= 0.1.0
GO      ?= go
GOFLAGS_BUILD := -trimpath -ldflags '-s -w -X main.version=$(VERSION)'
# The e2e and fault suites need more than go test's default 10 minutes on a
# loaded 2-core machine.
TEST_TIMEOUT ?= 30m

.PHONY: all build check test test-go test-faults lint run clean install ensure-broker ensure-go ensure-promtool

all: build

ensure-go:
	@command -v $(GO) >/dev/null 2>&1 || { echo "Go is needed (1.26 or newer, or Go >= 1.21 with GOTOOLCHAIN=auto): see README.md"; exit 1; }

build: ensure-go
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/ ./cmd/...

# lint: gofmt, go vet and staticcheck (pinned in tools/go.mod, built by the
# Go toolchain on first use).
lint: ensure-go
	@echo "== gofmt, go vet, staticcheck"
	@test -z "$$(gofmt -l cmd internal e2e bench)" || { gofmt -l cmd internal e2e bench; echo "gofmt: the files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) tool -modfile=tools/go.mod staticcheck ./...

# check is the contributor's fast loop: lint and the unit tests, with no
# broker, browser or root (tests that need them skip in -short mode).
check: lint
	@echo "== go test -short ./... (unit tests; make test runs everything)"
	$(GO) test -short ./...

# ensure-broker starts the local RabbitMQ (installing Debian's package first on
# a fresh machine); tests and `make run` talk to the real broker on 127.0.0.1:5672.
ensure-broker:
	@if rabbitmqctl -q status >/dev/null 2>&1; then echo "== RabbitMQ is running"; else \
	  if ! command -v rabbitmq-server >/dev/null 2>&1; then \
	    echo "== installing rabbitmq-server (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; fi; \
	  echo "== starting RabbitMQ (rabbitmq-server -detached)"; rabbitmq-server -detached; sleep 2; \
	  rabbitmqctl -q await_startup --timeout 120; echo "== RabbitMQ is running"; fi

# ensure-promtool installs Debian's prometheus package, whose promtool checks
# both daemons' /metrics output in the tests.
ensure-promtool:
	@command -v promtool >/dev/null 2>&1 || { echo "== installing prometheus (Debian package) for promtool"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# test is CI's command: lint, every Go test with the race detector (unit,
# end-to-end against real brokers, fault injection, real Chromium), then the
# packages on a booted systemd.
test: ensure-broker ensure-browser ensure-promtool lint test-go package-check test-packages
	@echo "== make test: all passed"

test-go: ensure-broker ensure-browser ensure-promtool
	@echo "== go test -race ./... (unit, e2e, faults, browser)"
	SYSMON_REQUIRE_SERVICES=1 $(GO) test -race -timeout $(TEST_TIMEOUT) ./...

# test-faults runs only the fault-injection suite and prints its table.
test-faults: ensure-broker
	SYSMON_REQUIRE_SERVICES=1 $(GO) test -race -timeout $(TEST_TIMEOUT) -count=1 -run 'TestFault|TestProdAuthenticatedHosts' -v ./e2e | grep -E '^(--- |FAIL|ok|PASS|\|)|fault'

# run starts RabbitMQ if needed and both daemons with the shipped (all-default)
# env files, prints the dashboard URL and stops both on Ctrl-C.
run: ensure-broker build
	@echo "== starting sysmon-consumer and sysmon-publisher (Ctrl-C stops both)"
	@trap 'kill $$cpid $$ppid 2>/dev/null; wait' INT TERM EXIT; \
	  mkdir -p var/consumer; \
	  STATE_DIR=$(CURDIR)/var/consumer bin/sysmon-consumer -config etc/sysmon/consumer.env & cpid=$$!; \
	  sleep 0.5; bin/sysmon-publisher -config etc/sysmon/publisher.env & ppid=$$!; \
	  sleep 1; \
	  if ! kill -0 $$cpid 2>/dev/null || ! kill -0 $$ppid 2>/dev/null; then \
	    echo "make run: a daemon did not start (see its error above)"; exit 1; fi; \
	  echo; echo "   dashboard:  http://127.0.0.1:8003/"; \
	  echo "   publish now: curl localhost:8000/publish"; echo; \
	  wait

# install is for people who build from source (packages: make package). The
# version is git describe's in a git checkout (v-prefix dropped; VERSION-g<commit>
# before the first tag), VERSION above otherwise.
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_VERSION := $(shell d=$$(git describe --tags --always --dirty 2>/dev/null) || d=; \
	case $$d in ("") echo $(VERSION);; (v[0-9]*.*|[0-9]*.*) echo $$d | sed s/^v//;; (*) echo $(VERSION)-g$$d;; esac)

install: ensure-go
	@mkdir -p bin/install
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(INSTALL_VERSION)' \
		-o bin/install/ ./cmd/sysmon-publisher ./cmd/sysmon-consumer
	VERSION=$(INSTALL_VERSION) BIN=bin/install PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) packaging/install.sh

clean:
	rm -rf bin dist out

include packaging/packaging.mk
include internal/web/web.mk
-include bench/bench.mk
