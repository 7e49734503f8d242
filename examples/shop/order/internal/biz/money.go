package biz

import (
	"math"
	"strconv"
	"strings"

	v1 "github.com/zelos-go/zelos/examples/shop/order/api/order/v1"
)

// Money is an amount in minor units (cents). Amounts are never floats:
// 0.1 + 0.2 is not 0.3 in binary floating point, and a shop that sums
// prices must get the cents right.
type Money int64

// maxMoney bounds parsed amounts so that a price times the largest
// quantity cannot overflow int64 (about 9.2e18): 1e15 cents is ten
// trillion units.
const maxMoney = Money(1_000_000_000_000_000)

// ParseMoney parses a decimal string with at most two decimals, such as
// "12.50", "12.5", "12" or "0.99", exactly into cents. Signs, exponents,
// spaces, thousands separators and a third decimal are errors: a price of
// "12.505" cannot be charged in cents, so it is refused rather than
// rounded.
func ParseMoney(s string) (Money, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || (hasDot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, v1.ErrorInvalidOrder("order: amount %q is not a decimal with at most two decimals", s)
	}
	if len(whole) > 16 {
		return 0, v1.ErrorInvalidOrder("order: amount %q is too large", s)
	}
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, v1.ErrorInvalidOrder("order: amount %q: %v", s, err)
	}
	var cents int64
	if frac != "" {
		cents, _ = strconv.ParseInt(frac, 10, 64) // digits only, 1 or 2 of them
		if len(frac) == 1 {
			cents *= 10
		}
	}
	m := Money(units*100 + cents)
	if m > maxMoney {
		return 0, v1.ErrorInvalidOrder("order: amount %q is too large", s)
	}
	return m, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats m as a decimal string with two decimals: 1250 is "12.50",
// -5 is "-0.05".
func (m Money) String() string {
	n := int64(m)
	sign := ""
	if n < 0 {
		sign = "-"
		if n == math.MinInt64 {
			return "-92233720368547758.08"
		}
		n = -n
	}
	c := n % 100
	pad := ""
	if c < 10 {
		pad = "0"
	}
	return sign + strconv.FormatInt(n/100, 10) + "." + pad + strconv.FormatInt(c, 10)
}

// Times returns m times q, and false if that overflows int64.
func (m Money) Times(q int32) (Money, bool) {
	if q == 0 || m == 0 {
		return 0, true
	}
	p := int64(m) * int64(q)
	if p/int64(q) != int64(m) {
		return 0, false
	}
	return Money(p), true
}

// Add returns m plus o, and false if that overflows int64.
func (m Money) Add(o Money) (Money, bool) {
	s := m + o
	if (o > 0 && s < m) || (o < 0 && s > m) {
		return 0, false
	}
	return s, true
}
