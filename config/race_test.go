//go:build race

package config_test

// raceEnabled reports whether the race detector is on, which makes
// yaml.v3 five to ten times slower.
const raceEnabled = true
