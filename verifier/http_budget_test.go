package verifier

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHandlerBoundsBodiesInMemory: the bodies POST /v1/verify holds in
// memory at once are bounded (maxBodiesAtOnce bodies of the maximum
// size; smaller ones share the same bytes): past that, a request waits
// for one in progress to finish before its body is read. Before, every
// connection read its body (up to 1 MiB) at once, so clients that each
// sent all but the last byte of a 1 MiB body held 1 MiB each, without
// bound, until the sidecar ran out of memory.
func TestHandlerBoundsBodiesInMemory(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	v := s.verifier(t, nil)
	const maxBody = 4096
	h := Handler(v, maxBody)
	srv := httptest.NewServer(h)
	defer srv.Close()
	// maxBodiesAtOnce clients send all but the last byte of a body of the
	// maximum size.
	conns := make([]net.Conn, maxBodiesAtOnce)
	for i := range conns {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := fmt.Fprintf(c, "POST /v1/verify HTTP/1.1\r\nHost: v\r\nContent-Length: %d\r\n\r\n%s", maxBody, bytes.Repeat([]byte("x"), maxBody-1)); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	b := h.(*verifyHandler).bodies
	waitFor(t, func() bool { return b.reserved() == maxBodiesAtOnce*(maxBody+1) })
	// A request now waits: its body is not read while the others are.
	msg := sign(t, request(t, tmplCredit, userSC, devA1, 1), s.sc, false)
	answered := make(chan Decision, 1)
	go func() {
		resp, err := srv.Client().Post(srv.URL+"/v1/verify", "application/xml", bytes.NewReader(msg))
		if err != nil {
			t.Error(err)
			answered <- Decision{}
			return
		}
		defer resp.Body.Close()
		var d Decision
		json.NewDecoder(resp.Body).Decode(&d)
		answered <- d
	}()
	select {
	case d := <-answered:
		t.Fatalf("answered %+v while %d bodies of the maximum size were being read, want it to wait", d, maxBodiesAtOnce)
	case <-time.After(300 * time.Millisecond):
	}
	// One finishes (MALFORMED: not XML); the waiting request goes on.
	if _, err := conns[0].Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conns[0]), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	select {
	case d := <-answered:
		if !d.Accepted() {
			t.Fatalf("the request that waited: %+v, want accept", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting request was not answered after a body was released")
	}
}
