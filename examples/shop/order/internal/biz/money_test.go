package biz_test

import (
	"math"
	"testing"

	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
	"github.com/zelos-go/zelos/examples/shop/order/internal/biz"
)

func TestParseMoney(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want biz.Money
	}{
		{"12.50", 1250}, {"12.5", 1250}, {"12", 1200}, {"0.99", 99}, {"0.01", 1},
		{"0", 0}, {"007.10", 710}, {"10000000000000.00", 1_000_000_000_000_000},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := biz.ParseMoney(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseMoney(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		})
	}
	for _, in := range []string{
		"", ".", "12.", ".50", "12.505", "-1.00", "+1", "1e3", "1,000.00", " 1", "1 ", "12.5x",
		"0x10", "１２", "10000000000000.01", "99999999999999999", "NaN",
	} {
		t.Run("invalid "+in, func(t *testing.T) {
			if _, err := biz.ParseMoney(in); !v1.IsInvalidOrder(err) {
				t.Errorf("ParseMoney(%q): %v, want INVALID_ORDER", in, err)
			}
		})
	}
}

func TestMoneyString(t *testing.T) {
	for _, tc := range []struct {
		m    biz.Money
		want string
	}{
		{1250, "12.50"}, {5, "0.05"}, {0, "0.00"}, {100, "1.00"}, {-5, "-0.05"}, {-1234, "-12.34"},
		{math.MaxInt64, "92233720368547758.07"}, {math.MinInt64, "-92233720368547758.08"},
	} {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("Money(%d) = %q, want %q", int64(tc.m), got, tc.want)
		}
	}
	// Round trip of every cent value of a unit.
	for c := biz.Money(0); c < 300; c++ {
		if back, err := biz.ParseMoney(c.String()); err != nil || back != c {
			t.Fatalf("round trip %d: %d, %v", c, back, err)
		}
	}
}

func TestMoneyArithmetic(t *testing.T) {
	if m, ok := biz.Money(1250).Times(3); !ok || m != 3750 {
		t.Errorf("Times: %d %v", m, ok)
	}
	if m, ok := biz.Money(0).Times(3); !ok || m != 0 {
		t.Errorf("0 Times: %d %v", m, ok)
	}
	if _, ok := biz.Money(math.MaxInt64 / 2).Times(3); ok {
		t.Error("Times overflow not reported")
	}
	if _, ok := biz.Money(math.MaxInt64).Add(1); ok {
		t.Error("Add overflow not reported")
	}
	if _, ok := biz.Money(math.MinInt64).Add(-1); ok {
		t.Error("Add underflow not reported")
	}
	if m, ok := biz.Money(10).Add(-3); !ok || m != 7 {
		t.Errorf("Add: %d %v", m, ok)
	}
}
