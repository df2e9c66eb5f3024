// Package password hashes and checks user passwords with argon2id
// (golang.org/x/crypto/argon2, RFC 9106) and enforces the password policy.
//
// Hashes are PHC strings, "$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>"
// (salt and hash in unpadded standard base64), so every hash carries its own
// parameters: they can be raised without a migration, old hashes keep
// verifying, and NeedsRehash tells the login path to store a new hash.
//
// Default parameters: m = 64 MiB, t = 3 passes, p = 2 lanes, a 16-byte salt
// and a 32-byte key. This is RFC 9106's second recommended setting (64 MiB,
// t = 3) with the lanes lowered from 4 to 2 to match a small (2-vCPU) pod;
// it is well above OWASP's minimum (19 MiB, t = 2, p = 1) and costs roughly
// 50-150 ms of one core per hash. The memory cost is what makes GPU and
// ASIC guessing expensive, and it is also what makes a burst of logins a
// memory risk for the server: a Hasher therefore runs at most a few hashes
// at once (WithMaxConcurrent, default 2) and queues the rest, so the peak is
// bounded (2 x 64 MiB by default) whatever the request rate. Logins are
// additionally rate limited per account and per address by the identity
// service.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters and sizes.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism (lanes).
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams are the production parameters; see the package comment.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, SaltLen: 16, KeyLen: 32}

// Bounds on parameters, for new hashes and for stored ones alike: a stored
// hash is trusted input, but a corrupted or planted one must not make a
// login allocate gigabytes or spin for minutes.
const (
	minMemory  = 8 * 1024    // 8 MiB; only WithTestParams goes lower
	maxMemory  = 1024 * 1024 // 1 GiB
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
)

// ErrMalformedHash: a stored hash is not an argon2id PHC string this package
// can verify.
var ErrMalformedHash = errors.New("malformed password hash")

func (p Params) validate(minMem uint32) error {
	switch {
	case p.Threads == 0:
		return errors.New("argon2id: threads must be at least 1")
	case p.Memory < minMem || p.Memory > maxMemory || p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("argon2id: memory %d KiB out of range", p.Memory)
	case p.Time == 0 || p.Time > maxTime:
		return fmt.Errorf("argon2id: time %d out of range 1..%d", p.Time, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("argon2id: salt length %d out of range %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2id: key length %d out of range %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Hasher hashes new passwords with its parameters and verifies hashes made
// with any valid parameters. It is safe for concurrent use.
type Hasher struct {
	params Params
	// minMemory is lowered only by WithTestParams.
	minMemory uint32
	slots     chan struct{}
	// dummy is a hash of a random password, verified when a login names
	// no user so that the answer takes as long as for a wrong password.
	dummy string
}

// Option configures a Hasher.
type Option func(*Hasher)

// WithParams hashes new passwords with p instead of DefaultParams. Memory
// below 8 MiB is refused; use WithTestParams in tests.
func WithParams(p Params) Option { return func(h *Hasher) { h.params = p } }

// WithTestParams makes hashing cheap (64 KiB, one pass) for tests, which
// hash hundreds of passwords. Never use it in a server.
func WithTestParams() Option {
	return func(h *Hasher) {
		h.params = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
		h.minMemory = 64
	}
}

// WithMaxConcurrent bounds how many hashes run at once (default 2, or
// GOMAXPROCS when larger); further calls wait their turn.
func WithMaxConcurrent(n int) Option {
	return func(h *Hasher) {
		if n > 0 {
			h.slots = make(chan struct{}, n)
		}
	}
}

// New returns a Hasher.
func New(opts ...Option) (*Hasher, error) {
	h := &Hasher{params: DefaultParams, minMemory: minMemory}
	for _, o := range opts {
		o(h)
	}
	if h.slots == nil {
		h.slots = make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))
	}
	if err := h.params.validate(h.minMemory); err != nil {
		return nil, err
	}
	dummy, err := h.Hash(context.Background(), rand.Text())
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Hash returns the PHC string of password with a fresh random salt. It
// waits for a free slot (or ctx) first; see WithMaxConcurrent.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key, err := h.derive(ctx, password, phc{params: h.params, salt: salt})
	if err != nil {
		return "", err
	}
	return phc{params: h.params, salt: salt, key: key}.encode(), nil
}

// Verify reports whether password matches the stored hash, comparing in
// constant time. ErrMalformedHash when the hash cannot be read.
func (h *Hasher) Verify(ctx context.Context, password, hash string) (bool, error) {
	stored, err := decode(hash)
	if err != nil {
		return false, err
	}
	if err := stored.params.validate(h.minMemory); err != nil {
		return false, fmt.Errorf("%w: %w", ErrMalformedHash, err)
	}
	key, err := h.derive(ctx, password, stored)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(key, stored.key) == 1, nil
}

// VerifyNothing spends the time of a Verify without a user to verify, so
// that "no such user" and "wrong password" cannot be told apart by timing.
// It always reports false.
func (h *Hasher) VerifyNothing(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, password, h.dummy)
	return err
}

// NeedsRehash reports whether hash was made with other parameters than the
// Hasher's (or cannot be read), i.e. whether it should be replaced by a new
// hash the next time the password is known.
func (h *Hasher) NeedsRehash(hash string) bool {
	stored, err := decode(hash)
	if err != nil {
		return true
	}
	return stored.params != h.params
}

func (h *Hasher) derive(ctx context.Context, password string, p phc) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.slots }()
	keyLen := p.params.KeyLen
	if p.key != nil {
		keyLen = uint32(len(p.key))
	}
	return argon2.IDKey([]byte(password), p.salt, p.params.Time, p.params.Memory, p.params.Threads, keyLen), nil
}
