package window

import "testing"

func TestWindowRolls(t *testing.T) {
	w := New(100, 10, 0) // 10 buckets of 10
	w.Add(0, 1, 0)
	w.Add(15, 1, 1)
	w.Add(99, 1, 0)
	if got := w.Sum(99); got != (Counts{3, 1}) {
		t.Fatalf("Sum = %v, want {3 1}", got)
	}
	if got := w.Sum(100); got != (Counts{2, 1}) {
		t.Fatalf("Sum after the first bucket left = %v, want {2 1}", got)
	}
	if got := w.Sum(115); got != (Counts{1, 0}) {
		t.Fatalf("Sum after two buckets left = %v, want {1 0}", got)
	}
	if got := w.Sum(1000); got != (Counts{}) {
		t.Fatalf("Sum long after = %v, want zero", got)
	}
}

func TestWindowClockBack(t *testing.T) {
	w := New(100, 10, 50)
	w.Add(55, 1, 0)
	w.Add(10, 1, 0) // stepped back: counted in the current bucket
	if got := w.Sum(55); got.A != 2 {
		t.Fatalf("Sum = %v, want A=2", got)
	}
}

func TestWindowRangeSkipsCurrent(t *testing.T) {
	w := New(30, 3, 0)
	w.Add(0, 5, 0)
	w.Add(10, 7, 0)
	w.Add(20, 9, 0)
	var seen []int64
	w.Range(25, func(c Counts) { seen = append(seen, c.A) })
	if len(seen) != 2 || seen[0] != 5 || seen[1] != 7 {
		t.Fatalf("Range = %v, want [5 7] (oldest first, current bucket left out)", seen)
	}
	if w.Width() != 10 {
		t.Fatalf("Width = %d", w.Width())
	}
}

func TestWindowReset(t *testing.T) {
	w := New(10, 0, 0) // n < 1 becomes one bucket
	w.Add(1, 4, 4)
	w.Reset(2)
	if got := w.Sum(2); got != (Counts{}) {
		t.Fatalf("Sum after Reset = %v", got)
	}
}
