package tools

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Input image URLs may only reach the public internet. The check runs in the dialer on the
// address actually connected to, so neither a DNS answer (rebinding) nor a redirect can
// steer a download to this machine, the local network or a cloud metadata service.

// deniedPrefixes are the special-purpose ranges (IANA IPv4 and IPv6 special-purpose address
// registries) that are not ordinary public hosts. Anything outside them must also be global
// unicast to be dialled.
var deniedPrefixes = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this network"
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // carrier-grade NAT, Tailscale, 100.100.100.200 (a metadata service)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, 169.254.169.254 (metadata services)
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.88.99.0/24",  // 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, broadcast
		"::/128",          // unspecified
		"::1/128",         // loopback
		"::/96",           // IPv4-compatible (deprecated), embeds any IPv4 address
		"::ffff:0:0/96",   // IPv4-mapped
		"64:ff9b::/96",    // NAT64, embeds any IPv4 address
		"64:ff9b:1::/48",  // local-use NAT64
		"100::/64",        // discard
		"2001::/23",       // IETF protocol assignments, Teredo
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4, embeds any IPv4 address
		"3fff::/20",       // documentation
		"5f00::/16",       // segment routing SIDs
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// publicAddress reports whether ip is an ordinary global unicast address on the internet.
func publicAddress(ip netip.Addr) bool {
	if !ip.IsValid() || !ip.IsGlobalUnicast() {
		return false
	}
	for _, p := range deniedPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

var errPrivateAddress = errors.New("address is loopback, private or reserved")

// refuseNonPublic is a net.Dialer Control function: it runs after name resolution, on the
// very address about to be connected.
func refuseNonPublic(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !publicAddress(ip) {
		return errPrivateAddress
	}
	return nil
}

// fetchClients are shared by every download, so connections are pooled and bounded rather
// than a transport (and its idle connections) being left behind per fetch. Index 1 allows
// private addresses (--allow-private-urls).
var fetchClients [2]struct {
	once   sync.Once
	client *http.Client
}

func fetchClient(allowPrivate bool) *http.Client {
	i := 0
	if allowPrivate {
		i = 1
	}
	c := &fetchClients[i]
	c.once.Do(func() {
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		if !allowPrivate {
			dialer.Control = refuseNonPublic
		}
		c.client = &http.Client{Transport: &http.Transport{
			DialContext:           dialer.DialContext,
			Proxy:                 nil, // a proxy would dial for us, past the address check
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          16,
			MaxIdleConnsPerHost:   2,
			MaxConnsPerHost:       8,
			IdleConnTimeout:       30 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: 20 * time.Second,
		}}
	})
	return c.client
}
