package server

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/corvane/ledgerline/gateway/internal/auth"
)

// RateLimiter is a token bucket per client id: perMinute tokens, refilled every second.
type RateLimiter struct {
	mu        sync.Mutex
	perMinute int
	buckets   map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewRateLimiter allows perMinute requests per client per minute (600 by default).
func NewRateLimiter(perMinute int) *RateLimiter {
	return &RateLimiter{perMinute: perMinute, buckets: map[string]*bucket{}}
}

// Allow takes one token from the client's bucket; it returns false and the seconds to wait
// when the bucket is empty.
func (l *RateLimiter) Allow(clientID string, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[clientID]
	if !ok {
		b = &bucket{tokens: float64(l.perMinute), last: now}
		l.buckets[clientID] = b
	}
	refill := now.Sub(b.last).Seconds() * float64(l.perMinute) / 60
	b.tokens = min(float64(l.perMinute), b.tokens+refill)
	b.last = now
	if b.tokens < 1 {
		wait := int((1-b.tokens)*60/float64(l.perMinute)) + 1
		return false, wait
	}
	b.tokens--
	return true, 0
}

// Middleware answers 429 with Retry-After when a client is over its limit.
func (l *RateLimiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := auth.ClientIDFromHeader(r.Header.Get("Authorization"))
		if ok, wait := l.Allow(client, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			writeError(w, http.StatusTooManyRequests, "rate_limited", "more than the allowed requests per minute")
			return
		}
		next.ServeHTTP(w, r)
	})
}
