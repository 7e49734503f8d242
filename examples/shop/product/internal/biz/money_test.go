package biz

import "testing"

func TestParsePrice(t *testing.T) {
	for _, tc := range []struct {
		in    string
		cents int64
		ok    bool
	}{
		{"12.50", 1250, true},
		{"12.5", 1250, true},
		{"3", 300, true},
		{"0.1", 10, true},
		{"0.01", 1, true},
		{"0", 0, true},
		{"10000000000.00", MaxPriceCents, true},
		{"10000000000.01", 0, false},
		{"99999999999999", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"1e3", 0, false},
		{"12.505", 0, false},
		{" 12", 0, false},
		{"12,50", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			c, err := ParsePrice(tc.in)
			if (err == nil) != tc.ok || c != tc.cents {
				t.Fatalf("ParsePrice(%q) = %d, %v", tc.in, c, err)
			}
			if tc.ok && FormatPrice(c) != FormatPrice(tc.cents) {
				t.Fatalf("round trip")
			}
		})
	}
}

func TestFormatPrice(t *testing.T) {
	for c, want := range map[int64]string{0: "0.00", 5: "0.05", 1250: "12.50", 100: "1.00", -250: "-2.50"} {
		if got := FormatPrice(c); got != want {
			t.Errorf("FormatPrice(%d) = %q, want %q", c, got, want)
		}
	}
}
