# bench.mk: `make bench` runs sysmon's performance scenarios against the local
# broker and prints one table (figure | measured | target | baseline measured
# in the same run); the figures also go to bench-results/latest.json.
# `make bench-quick` is a smoke run with short durations.
# A missed target never fails these targets; a broken harness does.

BENCH_BIN   ?= bin
BENCH_FLAGS ?=

.PHONY: bench bench-quick bench-build ensure-collectd

# The footprint scenario measures sysmon-publisher beside collectd (Debian's
# collectd-core, with the libraries its amqp and disk plugins load).
ensure-collectd:
	@packaging/ensure-tools.sh /usr/sbin/collectd=collectd-core \
		/usr/lib/x86_64-linux-gnu/librabbitmq.so.4=librabbitmq4 \
		/usr/lib/x86_64-linux-gnu/libyajl.so.2=libyajl2 \
		/usr/lib/x86_64-linux-gnu/libudev.so.1=libudev1

bench-build: ensure-go
	@mkdir -p $(BENCH_BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o $(BENCH_BIN)/ \
		./cmd/sysmon-publisher ./cmd/sysmon-consumer ./cmd/sysmon-loadgen
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w' -o $(BENCH_BIN)/sysmon-floor ./bench/floor
	$(GO) build -o $(BENCH_BIN)/sysmon-bench ./bench

# About 35 minutes on 2 cores, most of it the 10,000-host fleet for 5 minutes,
# 10,000 hosts with and without history for 5 (-only history: 10.6 minutes in
# all in the last quiet run, with its three pairs of backlog drains at each of
# two sizes), 100,000 hosts at 10 s for 3 and a drain of a backlog from them
# (-only hosts100k: 4.5 minutes in all) and the dashboard in
# Chromium for 2 to 4 (-only browser).
bench: ensure-broker ensure-collectd ensure-browser bench-build
	$(BENCH_BIN)/sysmon-bench -bin $(BENCH_BIN) -out bench-results/latest.json $(BENCH_FLAGS)

# About 9 minutes before the drain of a backlog from 100,000 hosts (hosts100k)
# was added; it adds about 2, its backlog the same as in a full run.
bench-quick: ensure-broker ensure-collectd ensure-browser bench-build
	$(BENCH_BIN)/sysmon-bench -quick -bin $(BENCH_BIN) -out bench-results/latest.json $(BENCH_FLAGS)
