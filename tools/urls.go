package tools

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// URLSigner makes and checks expiring image URLs: an HMAC over the owner, the image id and the
// expiry, so a URL cannot be altered to reach another image or to live longer, and it stops
// working when the image no longer belongs to the principal it was issued to (its
// conversation was deleted).
type URLSigner struct {
	secret []byte
	TTL    time.Duration
	Now    func() time.Time
}

// NewURLSigner returns a signer with the given secret, or a random one (URLs then end with the
// process).
func NewURLSigner(secret []byte, ttl time.Duration) *URLSigner {
	if len(secret) == 0 {
		secret = make([]byte, 32)
		_, _ = rand.Read(secret)
	}
	if ttl <= 0 {
		ttl = DefaultURLTTL
	}
	return &URLSigner{secret: secret, TTL: ttl, Now: time.Now}
}

func (s *URLSigner) sign(owner, id string, exp int64) string {
	m := hmac.New(sha256.New, s.secret)
	fmt.Fprintf(m, "%s|%d|%s", id, exp, owner)
	return hex.EncodeToString(m.Sum(nil))
}

// URL returns base/images/<id><ext>?exp=…&sig=… and its expiry.
func (s *URLSigner) URL(base, owner, id, ext string) (string, time.Time) {
	exp := s.Now().Add(s.TTL).Unix()
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {s.sign(owner, id, exp)}}
	return strings.TrimRight(base, "/") + "/images/" + id + ext + "?" + q.Encode(), time.Unix(exp, 0)
}

// Check verifies a signed request for an image id of owner.
func (s *URLSigner) Check(owner, id, expParam, sig string) bool {
	exp, err := strconv.ParseInt(expParam, 10, 64)
	if err != nil || s.Now().Unix() > exp {
		return false
	}
	want := s.sign(owner, id, exp)
	return hmac.Equal([]byte(want), []byte(sig))
}

// ImageHandler serves /images/<id>.<ext> for valid signatures; a forged, altered or expired
// URL gets 403. It needs no bearer token: the signature is the permission.
func (s *Set) ImageHandler() http.Handler {
	d := s.out
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.URLs == nil || d.images == nil {
			http.NotFound(w, r)
			return
		}
		name := strings.TrimPrefix(r.URL.Path, "/images/")
		id := strings.TrimSuffix(name, pathExt(name))
		q := r.URL.Query()
		if !session.ValidID("img", id) {
			http.Error(w, "this image link is invalid or has expired; ask for a new one", http.StatusForbidden)
			return
		}
		// The signature names the owner; an image that is unknown or no longer its owner's
		// answers like a forged link.
		owner, img, err := d.owners.imageOwner(r.Context(), id)
		if d.owners.store == nil {
			owner = session.LocalUser
			img.Path, err = d.images.Find(id)
		}
		if err != nil || !d.URLs.Check(owner, id, q.Get("exp"), q.Get("sig")) {
			http.Error(w, "this image link is invalid or has expired; ask for a new one", http.StatusForbidden)
			return
		}
		path := img.Path
		// The extension is part of the link: only the image's own is served, so a signed link
		// cannot be renamed into .html or .svg.
		if path == "" || !strings.EqualFold(filepath.Ext(path), pathExt(name)) {
			http.NotFound(w, r)
			return
		}
		f, err := os.Open(path)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			http.NotFound(w, r)
			return
		}
		// The content type comes from the bytes, never from the name.
		head := make([]byte, 512)
		n, _ := io.ReadFull(f, head)
		mime := http.DetectContentType(head[:n])
		if !strings.HasPrefix(mime, "image/") {
			http.NotFound(w, r)
			return
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", mime)
		w.Header().Set("Cache-Control", "private, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, name, st.ModTime(), f)
	})
}

func pathExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// validHost accepts what a Host header may hold: a DNS name or an IP literal, with an optional
// port, and nothing else (no user info, path, spaces or markup).
func validHost(h string) bool {
	if h == "" || len(h) > 253+6 {
		return false
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	name := u.Hostname()
	if _, err := netip.ParseAddr(name); err == nil {
		return true
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// markdownURL escapes what would end or break a markdown link destination.
var markdownURL = strings.NewReplacer("(", "%28", ")", "%29", " ", "%20", "<", "%3C", ">", "%3E").Replace
