package page

import (
	"fmt"
	"testing"
)

func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		number, size  int32
		offset, limit int
	}{
		{0, 0, 0, DefaultSize},
		{1, 10, 0, 10},
		{3, 10, 20, 10},
		{-5, 1000, 0, MaxSize},
		{2, -1, DefaultSize, DefaultSize},
	} {
		t.Run(fmt.Sprintf("%d,%d", tc.number, tc.size), func(t *testing.T) {
			o, l := Bounds(tc.number, tc.size)
			if o != tc.offset || l != tc.limit {
				t.Fatalf("Bounds(%d, %d) = %d, %d, want %d, %d", tc.number, tc.size, o, l, tc.offset, tc.limit)
			}
		})
	}
}
