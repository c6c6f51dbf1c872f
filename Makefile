# sysmon: `make run` starts the whole pipeline locally, `make test` is what CI runs.
# Targets for one area live in an included file beside that area's code.

VERSION ?= 0.1.0
GO      ?= go
GOFLAGS_BUILD := -trimpath -ldflags '-s -w -X main.version=$(VERSION)'

.PHONY: all build test lint run bench clean ensure-broker

all: build

build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build $(GOFLAGS_BUILD) -o bin/ ./cmd/...

lint:
	@echo "== gofmt / go vet"
	@test -z "$$(gofmt -l cmd internal)" || { gofmt -l cmd internal; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

# ensure-broker starts the local RabbitMQ (installing Debian's package first on a
# fresh machine); tests and `make run` talk to the real broker on 127.0.0.1:5672.
ensure-broker:
	@if rabbitmqctl -q status >/dev/null 2>&1; then echo "== RabbitMQ is running"; else \
	  if ! command -v rabbitmq-server >/dev/null 2>&1; then \
	    echo "== installing rabbitmq-server (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq rabbitmq-server >/dev/null; fi; \
	  echo "== starting RabbitMQ"; rabbitmq-server -detached; sleep 2; rabbitmqctl -q await_startup; fi

clean:
	rm -rf bin dist out
