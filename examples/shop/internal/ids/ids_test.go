package ids

import (
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := New()
		if len(id) != 32 {
			t.Fatalf("len(%q) = %d", id, len(id))
		}
		if seen[id] {
			t.Fatalf("duplicate %s", id)
		}
		seen[id] = true
		if i%100 == 0 {
			time.Sleep(2 * time.Millisecond)
			if id[:12] < prev {
				t.Fatalf("%s sorts before an earlier %s", id, prev)
			}
			prev = id[:12]
		}
	}
}
