package secretbox

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/agenttrace/agenttrace/pkg/config"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(k []byte) config.Secret { return config.Secret(base64.StdEncoding.EncodeToString(k)) }

func mustBox(t testing.TB, cfg Config) *Box {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := mustBox(t, Config{Key: b64(newKey(t))})
	for _, plain := range [][]byte{{}, []byte("x"), []byte("sk-proj-0123456789abcdef"), bytes.Repeat([]byte{0, 0xff}, 5000)} {
		aad := []byte("llm_connection:1:api_key")
		ct, err := b.Seal(plain, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(plain) >= 8 && bytes.Contains(ct, plain) {
			t.Fatal("ciphertext contains the plaintext")
		}
		got, err := b.Open(ct, aad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
		if b.NeedsReencrypt(ct) {
			t.Fatal("a fresh ciphertext needs no re-encryption")
		}
	}
	// The nonce is random: the same secret seals differently each time.
	c1, _ := b.Seal([]byte("same"), nil)
	c2, _ := b.Seal([]byte("same"), nil)
	if bytes.Equal(c1, c2) {
		t.Fatal("two seals of one plaintext are identical")
	}
}

func TestRotation(t *testing.T) {
	oldKey, newK := newKey(t), newKey(t)
	old := mustBox(t, Config{Key: b64(oldKey)})
	ct, err := old.Seal([]byte("secret"), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// Hex for the new key, base64 among the previous ones, with blanks.
	rotated := mustBox(t, Config{
		Key:          config.Secret(hex.EncodeToString(newK)),
		PreviousKeys: config.Secret(" , " + string(b64(newKey(t))) + "," + string(b64(oldKey)) + ","),
	})
	if !rotated.NeedsReencrypt(ct) {
		t.Fatal("a ciphertext of the previous key must need re-encryption")
	}
	got, err := rotated.Open(ct, []byte("a"))
	if err != nil || string(got) != "secret" {
		t.Fatalf("old ciphertext under the rotated box: %q, %v", got, err)
	}
	fresh, err := rotated.Seal(got, []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	if rotated.NeedsReencrypt(fresh) {
		t.Fatal("a re-sealed ciphertext must use the current key")
	}
	if _, err := old.Open(fresh, []byte("a")); !errors.Is(err, ErrOpen) {
		t.Fatalf("new ciphertext opened with the old key alone: %v", err)
	}
	// Dropping the previous key ends the old ciphertext's life.
	dropped := mustBox(t, Config{Key: config.Secret(hex.EncodeToString(newK))})
	if _, err := dropped.Open(ct, []byte("a")); !errors.Is(err, ErrOpen) {
		t.Fatalf("old ciphertext without its key: %v, want ErrOpen", err)
	}
}

func TestTamperingFails(t *testing.T) {
	b := mustBox(t, Config{Key: b64(newKey(t))})
	ct, err := b.Seal([]byte("sk-secret"), []byte("row:1"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(ct) * 8 {
		bad := bytes.Clone(ct)
		bad[i/8] ^= 1 << (i % 8)
		if _, err := b.Open(bad, []byte("row:1")); !errors.Is(err, ErrOpen) {
			t.Fatalf("bit %d flipped: Open = %v, want ErrOpen", i, err)
		}
	}
	for _, cut := range []int{0, 1, headerSize, len(ct) - 1} {
		if _, err := b.Open(ct[:cut], []byte("row:1")); !errors.Is(err, ErrOpen) {
			t.Fatalf("truncated to %d: %v, want ErrOpen", cut, err)
		}
	}
	if _, err := b.Open(append(bytes.Clone(ct), 0), []byte("row:1")); !errors.Is(err, ErrOpen) {
		t.Fatalf("extended: %v, want ErrOpen", err)
	}
}

func TestWrongAADOrKeyFails(t *testing.T) {
	b := mustBox(t, Config{Key: b64(newKey(t))})
	other := mustBox(t, Config{Key: b64(newKey(t))})
	ct, err := b.Seal([]byte("v"), []byte("llm_connection:1:api_key"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		box  *Box
		aad  []byte
	}{
		{"other row", b, []byte("llm_connection:2:api_key")},
		{"no aad", b, nil},
		{"prefix of aad", b, []byte("llm_connection:1")},
		{"other key", other, []byte("llm_connection:1:api_key")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.box.Open(ct, tt.aad); !errors.Is(err, ErrOpen) {
				t.Fatalf("Open = %v, want ErrOpen", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	good := string(b64(newKey(t)))
	secretLooking := "not-a-key-but-looks-secret-" + strings.Repeat("z", 20)
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"missing", Config{}, ErrNoKey},
		{"blank", Config{Key: "   "}, ErrNoKey},
		{"too short base64", Config{Key: config.Secret(base64.StdEncoding.EncodeToString(make([]byte, 16)))}, ErrInvalidKey},
		{"too long base64", Config{Key: config.Secret(base64.StdEncoding.EncodeToString(make([]byte, 33)))}, ErrInvalidKey},
		{"short hex", Config{Key: config.Secret(strings.Repeat("ab", 31))}, ErrInvalidKey},
		{"not hex nor base64", Config{Key: config.Secret(secretLooking)}, ErrInvalidKey},
		{"raw 32 characters", Config{Key: config.Secret(strings.Repeat("k", 32))}, ErrInvalidKey},
		{"bad previous key", Config{Key: config.Secret(good), PreviousKeys: config.Secret(good + "," + secretLooking)}, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), secretLooking) || strings.Contains(err.Error(), good) {
				t.Fatalf("error shows the key: %v", err)
			}
		})
	}
	_, err := New(Config{Key: config.Secret(good), PreviousKeys: config.Secret(good + ",x")})
	if err == nil || !strings.Contains(err.Error(), "PREVIOUS_KEYS entry 2") {
		t.Fatalf("error must name the bad entry: %v", err)
	}
}

func TestParseKeyEncodings(t *testing.T) {
	k := newKey(t)
	for _, s := range []string{
		hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
		base64.StdEncoding.EncodeToString(k), base64.RawStdEncoding.EncodeToString(k),
		base64.URLEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k),
		"  " + base64.StdEncoding.EncodeToString(k) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Errorf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
}

func TestHint(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "..."},
		{"abcdefg", "...g"},
		{"abcdefgh", "...gh"},
		{"sk-short12", "...12"},
		{"0123456789abcdef", "...cdef"},
		{"sk-proj-0123456789abcdefWXYZ", "sk-...WXYZ"},
		{"sk-ant-api03-aaaaaaaaaaaaaaaaaaaaabcd", "sk-...abcd"},
		{"verylongprefix-0123456789abcd", "...abcd"},
		{"héllo-wörld-ünïcode-sëcret-ÿz", "...t-ÿz"},
		{"  spaced-secret-with-padding-1234  ", "...1234"},
	}
	for _, tt := range tests {
		got := Hint(tt.in)
		if got != tt.want {
			t.Errorf("Hint(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Never more than 4 characters of the secret after the dots.
		_, tail, _ := strings.Cut(got, "...")
		if len([]rune(tail)) > 4 {
			t.Errorf("Hint(%q) shows %d trailing characters", tt.in, len([]rune(tail)))
		}
	}
}

func FuzzOpen(f *testing.F) {
	key := bytes.Repeat([]byte{7}, KeySize)
	b := mustBox(f, Config{Key: b64(key)})
	ct, err := b.Seal([]byte("seed"), []byte("aad"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ct, []byte("aad"))
	f.Add([]byte{}, []byte{})
	f.Add([]byte{formatVersion}, []byte("aad"))
	f.Add(ct[:headerSize], []byte("aad"))
	f.Add(bytes.Repeat([]byte{formatVersion}, headerSize+tagSize), []byte(nil))
	f.Fuzz(func(t *testing.T, ciphertext, aad []byte) {
		plain, err := b.Open(ciphertext, aad)
		if err != nil {
			if !errors.Is(err, ErrOpen) || plain != nil {
				t.Fatalf("Open failed with %v and %q", err, plain)
			}
			return
		}
		// Only genuine ciphertexts open, and the only one ever sealed
		// under this key (in any fuzzing process) is the seed's.
		if string(plain) != "seed" || string(aad) != "aad" {
			t.Fatalf("forged ciphertext opened to %q with aad %q", plain, aad)
		}
		if b.NeedsReencrypt(ciphertext) {
			t.Fatal("a ciphertext of the current key needs no re-encryption")
		}
	})
}
