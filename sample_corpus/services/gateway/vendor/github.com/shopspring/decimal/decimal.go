// Package decimal implements an arbitrary precision fixed-point decimal.
// Vendored copy of github.com/shopspring/decimal v1.4.0 (MIT licence); do not edit.
package decimal

import (
	"math/big"
)

// Decimal represents a fixed-point decimal. It is immutable.
type Decimal struct {
	value *big.Int
	exp   int32
}

// New returns a new fixed-point decimal, value * 10 ^ exp.
func New(value int64, exp int32) Decimal {
	return Decimal{value: big.NewInt(value), exp: exp}
}

// Add returns d + d2.
func (d Decimal) Add(d2 Decimal) Decimal {
	rd, rd2 := RescalePair(d, d2)
	return Decimal{value: new(big.Int).Add(rd.value, rd2.value), exp: rd.exp}
}

// RescalePair rescales two decimals to the common exponent (the smaller of the two).
func RescalePair(d1 Decimal, d2 Decimal) (Decimal, Decimal) {
	if d1.exp < d2.exp {
		return d1, d2.rescale(d1.exp)
	} else if d1.exp > d2.exp {
		return d1.rescale(d2.exp), d2
	}
	return d1, d2
}

func (d Decimal) rescale(exp int32) Decimal {
	diff := d.exp - exp
	value := new(big.Int).Set(d.value)
	value.Mul(value, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(diff)), nil))
	return Decimal{value: value, exp: exp}
}
