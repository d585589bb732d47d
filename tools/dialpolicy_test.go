package tools

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"testing"
)

func TestOnlyPublicAddressesAreDialled(t *testing.T) {
	cases := map[string]bool{
		"8.8.8.8":                  true,
		"1.1.1.1":                  true,
		"2606:4700:4700::1111":     true,
		"2a00:1450:4001:80b::200e": true,
		"127.0.0.1":                false,
		"10.1.2.3":                 false,
		"172.16.0.1":               false,
		"192.168.1.1":              false,
		"169.254.169.254":          false, // metadata
		"100.64.0.1":               false, // CGNAT
		"100.100.100.200":          false, // Alibaba metadata, Tailscale range
		"0.1.2.3":                  false,
		"0.0.0.0":                  false,
		"192.0.0.170":              false,
		"192.0.2.1":                false,
		"198.18.0.1":               false,
		"198.19.255.255":           false,
		"198.51.100.7":             false,
		"203.0.113.9":              false,
		"224.0.0.1":                false,
		"240.0.0.1":                false,
		"255.255.255.255":          false,
		"::":                       false,
		"::1":                      false,
		"::127.0.0.1":              false, // IPv4-compatible
		"::ffff:127.0.0.1":         false, // IPv4-mapped
		"::ffff:8.8.8.8":           false,
		"64:ff9b::7f00:1":          false, // NAT64 of 127.0.0.1
		"64:ff9b::a9fe:a9fe":       false, // NAT64 of 169.254.169.254
		"64:ff9b:1::1":             false,
		"2002:7f00:1::":            false, // 6to4 of 127.0.0.1
		"2002:a9fe:a9fe::1":        false, // 6to4 of 169.254.169.254
		"2001::1":                  false, // Teredo
		"2001:db8::1":              false,
		"3fff::1":                  false,
		"100::1":                   false,
		"fc00::1":                  false,
		"fd12:3456::1":             false,
		"fe80::1":                  false,
		"fec0::1":                  false,
		"ff02::1":                  false,
	}
	for addr, want := range cases {
		if got := publicAddress(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddress(%s) = %v, want %v", addr, got, want)
		}
		err := refuseNonPublic("tcp", netip.AddrPortFrom(netip.MustParseAddr(addr), 443).String(), nil)
		if (err == nil) != want {
			t.Errorf("dialling %s: %v", addr, err)
		}
	}
}

// A DNS name that resolves to loopback is refused where the connection is made, after
// resolution, which is what defeats DNS rebinding and redirects.
func TestFetchRefusesNamesResolvingToLoopback(t *testing.T) {
	l := newLoader(InputOptions{}, nil, nil)
	_, err := l.fetch(context.Background(), "http://localhost:9/cat.png")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("loopback or private")) {
		t.Errorf("got %v", err)
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("descriptor counting needs /proc")
	}
	return len(ents)
}

// Downloads share one bounded transport: 100 fetches leave a handful of descriptors, not one
// idle connection per fetch.
func TestFetchesDoNotLeakConnections(t *testing.T) {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(buf.Bytes())
	}))
	defer srv.Close()
	l := newLoader(InputOptions{Fetch: FetchOptions{AllowPrivate: true}}, nil, nil)
	before := openFDs(t)
	for i := 0; i < 100; i++ {
		if _, err := l.fetch(context.Background(), srv.URL+"/cat.png"); err != nil {
			t.Fatal(err)
		}
	}
	// Each leaked client connection also holds a server-side one; allow a few for the pool.
	if after := openFDs(t); after > before+8 {
		t.Errorf("descriptors went %d -> %d over 100 fetches", before, after)
	}
}
