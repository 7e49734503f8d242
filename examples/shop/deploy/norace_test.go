//go:build !race

package deploy

// raceEnabled: this test binary runs without the race detector.
const raceEnabled = false
