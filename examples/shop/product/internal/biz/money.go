package biz

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxPriceCents bounds a price (10 billion in major units), so that a
// price times any int32 quantity fits an int64.
const MaxPriceCents = 1_000_000_000_000

// ParsePrice parses a decimal price with at most two decimals ("12.50",
// "3", "0.5") into cents. Prices are never floats: "0.1" is exactly 10
// cents.
func ParsePrice(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" || !digits(whole) || (hasDot && (frac == "" || len(frac) > 2 || !digits(frac))) {
		return 0, fmt.Errorf("price %q is not a decimal with at most two decimals, such as 12.50", s)
	}
	if len(whole) > 13 {
		return 0, fmt.Errorf("price %q is too large", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("price %q: %w", s, err)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64) // two digits, checked above
	cents := w*100 + f
	if cents > MaxPriceCents {
		return 0, fmt.Errorf("price %q is too large", s)
	}
	return cents, nil
}

// FormatPrice formats cents as a decimal with two decimals, "12.50".
func FormatPrice(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
