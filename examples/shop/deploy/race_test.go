//go:build race

package deploy

// raceEnabled: this test binary runs with the race detector, so the
// binaries it builds do too (and reuse the -race build cache).
const raceEnabled = true
