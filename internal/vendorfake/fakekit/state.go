package fakekit

import "sync"

// Issuer hands out access tokens and remembers which are still valid.
type Issuer struct {
	mu     sync.Mutex
	valid  map[string]struct{}
	issued int
}

// Issue creates and returns a new valid token.
func (i *Issuer) Issue() string {
	tok := RandomID(24)
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.valid == nil {
		i.valid = make(map[string]struct{})
	}
	i.valid[tok] = struct{}{}
	i.issued++
	return tok
}

// Valid reports whether tok was issued and not expired.
func (i *Issuer) Valid(tok string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	_, ok := i.valid[tok]
	return ok
}

// ExpireAll invalidates every token issued so far.
func (i *Issuer) ExpireAll() {
	i.mu.Lock()
	defer i.mu.Unlock()
	clear(i.valid)
}

// Issued returns how many tokens were issued.
func (i *Issuer) Issued() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.issued
}
