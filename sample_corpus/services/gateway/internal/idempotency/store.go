// Package idempotency remembers responses by X-Ledgerline-Idempotency-Key for 24 hours.
package idempotency

import (
	"sync"
	"time"
)

// Response is what a repeated request gets back.
type Response struct {
	Status int
	Body   []byte
}

type entry struct {
	resp    Response
	expires time.Time
}

// Store keeps responses in memory; production uses the Redis-backed variant with the same API.
type Store struct {
	mu      sync.Mutex
	ttl     time.Duration
	entries map[string]entry
	now     func() time.Time
}

// NewStore returns a Store whose keys expire after ttl (24 hours when ttl is zero).
func NewStore(ttl time.Duration) *Store {
	if ttl == 0 {
		ttl = 24 * time.Hour
	}
	return &Store{ttl: ttl, entries: map[string]entry{}, now: time.Now}
}

// Get returns the stored response for key, if it has not expired.
func (s *Store) Get(key string) (Response, bool) {
	if key == "" {
		return Response{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok || s.now().After(e.expires) {
		delete(s.entries, key)
		return Response{}, false
	}
	return e.resp, true
}

// Put stores resp under key; an empty key is ignored.
func (s *Store) Put(key string, resp Response) {
	if key == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries[key] = entry{resp: resp, expires: s.now().Add(s.ttl)}
}

// Sweep removes expired keys; the gateway calls it every minute.
func (s *Store) Sweep() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := 0
	for k, e := range s.entries {
		if s.now().After(e.expires) {
			delete(s.entries, k)
			removed++
		}
	}
	return removed
}
