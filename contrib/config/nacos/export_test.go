package nacos

import "time"

// SetResync shortens how often a Source's watchers read the content
// themselves.
func SetResync(s *Source, d time.Duration) { s.resync = d }
