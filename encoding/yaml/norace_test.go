//go:build !race

package yaml_test

import "time"

// raceEnabled reports whether the race detector is on, which makes yaml.v3
// five to ten times slower.
const raceEnabled = false

const cpuBound = 10 * time.Second
