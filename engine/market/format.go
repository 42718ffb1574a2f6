package market

import (
	"math"
	"strconv"
	"strings"
)

// formatThousands prints v with dec decimals and comma thousands separators,
// as Python's "{:,.Nf}" does (round half to even on the binary value).
func formatThousands(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', dec, 64)
	}
	s := strconv.FormatFloat(v, 'f', dec, 64)
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac := s, ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		intPart, frac = s[:i], s[i:]
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/3 + 1)
	b.WriteString(sign)
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	b.WriteString(frac)
	return b.String()
}

// money prints whole dollars: "$12,345".
func money(v float64) string {
	s := formatThousands(v, 0)
	if strings.HasPrefix(s, "-") {
		return "-$" + s[1:]
	}
	return "$" + s
}

// percent prints a fraction as a percentage with one decimal: 0.0812 → "8.1%".
func percent(frac float64) string {
	return strconv.FormatFloat(frac*100, 'f', 1, 64) + "%"
}
