package tcpproxy

import (
	"bufio"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo serves one line back per connection until closed.
func echo(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			_, _ = c.Write([]byte(line))
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-done })
	return l.Addr().String()
}

func TestStartAfterDelay(t *testing.T) {
	target := echo(t)
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := Start(addr, target, 300*time.Millisecond)
	defer p.Close()
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Fatal("the proxy listened before its delay")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_, _ = c.Write([]byte("hello\n"))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err != nil || line != "hello\n" {
				t.Fatalf("through the proxy: %q, %v", line, err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never listened: %v (%v)", err, p.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCloseBeforeStart(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	p := Start(addr, "127.0.0.1:1", time.Hour)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if p.Close() == nil {
		t.Fatal("second Close succeeded")
	}
}

// Close cuts a connection that is still open.
func TestCloseCutsConnections(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := up.Accept()
		if err == nil {
			held <- c
		}
	}()
	addr, _ := FreeAddr()
	p := Start(addr, up.Addr().String(), 0)
	var c net.Conn
	for range 100 {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if c == nil {
		t.Fatal(err)
	}
	defer c.Close()
	server := <-held
	defer server.Close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the connection survived Close")
	}
}
