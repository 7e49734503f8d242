# Zelos: every target covers every module listed in go.work.

.PHONY: run shop test tools fmt vet bench

# Runs the example service on its embedded defaults.
run:
	go run ./examples/helloworld -conf examples/helloworld/configs

# Runs the whole shop (examples/shop) in one process: the gateway on :8000.
shop:
	go run ./examples/shop

# gofmt check, go vet and go test -race for every module.
test: tools
	scripts/test.sh

# Installs the pinned tools the tests use into ./bin.
tools:
	scripts/tools.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	for m in $$(scripts/modules.sh); do (cd $$m && go vet ./...) || exit 1; done

# Benchmarks; see bench/README.md.
bench:
	cd bench && go test -run '^$$' -bench . -benchmem -count 5
