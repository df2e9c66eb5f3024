package password

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

func testHasher(t testing.TB, opts ...Option) *Hasher {
	t.Helper()
	h, err := New(append([]Option{WithTestParams()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashAndVerify(t *testing.T) {
	h := testHasher(t)
	ctx := context.Background()
	hash, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q", hash)
	}
	again, _ := h.Hash(ctx, "correct horse battery staple")
	if again == hash {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	cases := []struct {
		password string
		want     bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
		{"", false},
	}
	for _, tc := range cases {
		ok, err := h.Verify(ctx, tc.password, hash)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.password, ok, err, tc.want)
		}
	}
	if err := h.VerifyNothing(ctx, "whatever"); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyRejectsBadHashes(t *testing.T) {
	h := testHasher(t)
	ctx := context.Background()
	good, _ := h.Hash(ctx, "a password of mine")
	parts := strings.Split(good, "$")
	for name, hash := range map[string]string{
		"empty":         "",
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"version 16":    strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(good, "m=64,", "m=4194304,", 1),
		"huge time":     strings.Replace(good, "t=1,", "t=1000,", 1),
		"zero threads":  strings.Replace(good, "p=1$", "p=0$", 1),
		"short salt":    strings.Join([]string{"", parts[1], parts[2], parts[3], "c2FsdA", parts[5]}, "$"),
		"short key":     strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "a2V5"}, "$"),
		"missing field": strings.Join(parts[:5], "$"),
		"leading zero":  strings.Replace(good, "m=64,", "m=064,", 1),
	} {
		t.Run(name, func(t *testing.T) {
			ok, err := h.Verify(ctx, "a password of mine", hash)
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v; want ErrMalformedHash", ok, err)
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	ctx := context.Background()
	cheap := testHasher(t)
	hash, _ := cheap.Hash(ctx, "a password of mine")
	if cheap.NeedsRehash(hash) {
		t.Fatal("fresh hash needs rehash")
	}
	stronger := testHasher(t, WithParams(Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}))
	// WithParams after WithTestParams keeps the test floor for memory.
	if !stronger.NeedsRehash(hash) {
		t.Fatal("hash with old parameters does not need rehash")
	}
	if ok, err := stronger.Verify(ctx, "a password of mine", hash); !ok || err != nil {
		t.Fatalf("old hash no longer verifies: %v, %v", ok, err)
	}
	if !cheap.NeedsRehash("garbage") {
		t.Fatal("unreadable hash does not need rehash")
	}
}

func TestNewRejectsBadParams(t *testing.T) {
	for name, p := range map[string]Params{
		"tiny memory": {Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		"no time":     {Memory: 64 * 1024, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		"no threads":  {Memory: 64 * 1024, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		"short salt":  {Memory: 64 * 1024, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		"short key":   {Memory: 64 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		"huge memory": {Memory: 1 << 30, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	} {
		if _, err := New(WithParams(p)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDefaultParamsAreValid(t *testing.T) {
	if err := DefaultParams.validate(minMemory); err != nil {
		t.Fatal(err)
	}
	if DefaultParams.Memory != 64*1024 || DefaultParams.Time != 3 || DefaultParams.Threads != 2 {
		t.Fatalf("defaults changed without updating the package comment: %+v", DefaultParams)
	}
}

func TestConcurrencyIsBounded(t *testing.T) {
	h := testHasher(t, WithMaxConcurrent(1))
	// Hold the only slot: a hash must wait, and give up with its context.
	h.slots <- struct{}{}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "a password of mine"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Hash with no free slot = %v", err)
	}
	if _, err := h.Verify(ctx, "x", h.dummy); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Verify with no free slot = %v", err)
	}
	<-h.slots
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := h.Hash(context.Background(), "a password of mine"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func TestCheckPolicy(t *testing.T) {
	cases := []struct {
		name     string
		password string
		want     error
	}{
		{"ok", "twelve chars", nil},
		{"eleven", "eleven char", ErrTooShort},
		{"empty", "", ErrTooShort},
		{"twelve runes in more bytes", "ééééééééééé", ErrTooShort}, // 11 runes, 22 bytes
		{"twelve runes", "éééééééééééé", nil},
		{"blank", strings.Repeat(" ", 12), ErrBlank},
		{"blank mixed", " \t\n \u00a0\u2003      ", ErrBlank},
		{"max bytes", strings.Repeat("a", 256), nil},
		{"too long", strings.Repeat("a", 257), ErrTooLong},
		{"not utf8", "abcdefghijk\xff", ErrNotUTF8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckPolicy(tc.password); !errors.Is(err, tc.want) {
				t.Fatalf("CheckPolicy = %v, want %v", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	h := testHasher(f)
	good, _ := h.Hash(context.Background(), "seed password")
	for _, s := range []string{
		good, "", "$", "$$$$$", "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=2$$", "$argon2id$v=+19$m=1,t=1,p=1$YQ$YQ",
		"$argon2id$v=19$m=1,t=1,p=256$YQ$YQ", "$argon2id$v=19$m=18446744073709551616,t=1,p=1$YQ$YQ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decode(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("decode error %v is not ErrMalformedHash", err)
			}
			return
		}
		// Strict parsing: what decodes encodes back to the same string.
		if got := p.encode(); got != s {
			t.Fatalf("decode(%q) encodes as %q", s, got)
		}
		// Verification never panics and never hashes with unbounded
		// parameters; bounded hashes are cheap enough to run here.
		if p.params.validate(64) == nil && p.params.Memory <= 1024 && p.params.Time <= 4 {
			if _, err := h.Verify(context.Background(), "seed password", s); err != nil {
				t.Fatalf("Verify of a decodable, valid hash: %v", err)
			}
		}
	})
}
