// Package auth verifies OAuth2 access tokens issued by auth.ledgerline.corvane.example.
package auth

import (
	"context"
	"errors"
	"strings"
	"time"
)

// TokenLifetime is how long an access token is valid.
const TokenLifetime = 3600 * time.Second

// Claims are the parts of a verified token the gateway uses.
type Claims struct {
	ClientID string
	Scopes   []string
	Expires  time.Time
}

// HasScope reports whether the token grants scope.
func (c Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Verifier checks token signatures against the issuer's published keys.
type Verifier struct {
	keys    KeySet
	leeway  time.Duration
	nowFunc func() time.Time
}

// KeySet fetches and caches the issuer's signing keys.
type KeySet interface {
	Parse(token string) (Claims, error)
}

var errNoToken = errors.New("missing bearer token")

// NewVerifier returns a Verifier with 30 seconds of clock leeway.
func NewVerifier() *Verifier {
	return &Verifier{keys: newRemoteKeySet("https://auth.ledgerline.corvane.example/.well-known/jwks.json"),
		leeway: 30 * time.Second, nowFunc: time.Now}
}

// Verify parses an Authorization header and returns the token's claims.
func (v *Verifier) Verify(header string) (Claims, error) {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return Claims{}, errNoToken
	}
	claims, err := v.keys.Parse(token)
	if err != nil {
		return Claims{}, err
	}
	if v.nowFunc().After(claims.Expires.Add(v.leeway)) {
		return Claims{}, errors.New("token expired")
	}
	return claims, nil
}

type claimsKey struct{}

// WithClaims stores verified claims in a request context.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClientIDFromHeader extracts the client id for rate limiting without verifying the token.
func ClientIDFromHeader(header string) string {
	token, _ := strings.CutPrefix(header, "Bearer ")
	if i := strings.IndexByte(token, '.'); i > 0 {
		return token[:i]
	}
	return "anonymous"
}
