package tools

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
	"github.com/nanobanana-mcp/nanobanana-mcp/gemini"
	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// FetchOptions bound what an input image may cost us.
type FetchOptions struct {
	MaxBytes     int64         // per image, whatever its source; default 20 MiB
	Timeout      time.Duration // for http(s) downloads; default 20 s
	AllowPrivate bool          // allow URLs that resolve to loopback or private addresses
}

func (o *FetchOptions) defaults() {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 20 << 20
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
}

// loadImages reads every reference; the first bad one stops the call before anything is sent.
func (d *Deps) loadImages(ctx context.Context, refs []string) ([]gemini.Image, error) {
	out := make([]gemini.Image, 0, len(refs))
	for i, ref := range refs {
		img, err := d.loadImage(ctx, ref)
		if err != nil {
			if e, ok := apierrors.As(err); ok {
				e.Diagnosis.Summary = fmt.Sprintf("Image %d: %s", i+1, e.Diagnosis.Summary)
			}
			return nil, err
		}
		out = append(out, img)
	}
	return out, nil
}

// loadImage accepts an image id, a data URL, an http(s) URL, a file:// URL or path under the
// allowed roots, or bare base64. The MIME type comes from the bytes, never the name.
func (d *Deps) loadImage(ctx context.Context, ref string) (gemini.Image, error) {
	ref = strings.TrimSpace(ref)
	var data []byte
	var err error
	switch {
	case ref == "":
		return gemini.Image{}, inputError("the image reference is empty; pass a path, URL, data URL, base64 or image_id")
	case session.ValidID("img", ref):
		data, err = d.readImageID(ctx, ref)
	case strings.HasPrefix(ref, "data:"):
		data, err = decodeDataURL(ref)
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		data, err = d.fetch(ctx, ref)
	case strings.HasPrefix(ref, "file://"):
		u, perr := url.Parse(ref)
		if perr != nil {
			return gemini.Image{}, inputError("%q is not a valid file URL", ref)
		}
		data, err = d.readPath(ctx, u.Path)
	case looksLikePath(ref):
		data, err = d.readPath(ctx, ref)
	default:
		if data, err = decodeBase64(ref); err != nil {
			data, err = d.readPath(ctx, ref) // a relative path; its error says what was wrong
		}
	}
	if err != nil {
		return gemini.Image{}, err
	}
	if int64(len(data)) > d.Fetch.MaxBytes {
		return gemini.Image{}, inputError("the image is %d MiB, over the %d MiB limit; send a smaller image", len(data)>>20, d.Fetch.MaxBytes>>20)
	}
	mime := http.DetectContentType(data)
	switch mime {
	case "image/png", "image/jpeg", "image/webp":
		return gemini.Image{Data: data, MIMEType: mime}, nil
	}
	return gemini.Image{}, inputError("the data is not a PNG, JPEG or WebP image (it looks like %s)", mime)
}

func inputError(format string, args ...any) *apierrors.Error {
	msg := fmt.Sprintf(format, args...)
	return apierrors.New(apierrors.InvalidRequest, strings.ToUpper(msg[:1])+msg[1:]+".")
}

// looksLikePath is true for what can only be a path; anything else is tried as base64 first
// (base64 may contain "/" too).
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "~") || strings.HasPrefix(s, ".") || filepath.IsAbs(s) ||
		strings.HasPrefix(s, "/") || strings.Contains(s, `\`) || (len(s) < 256 && filepath.Ext(s) != "")
}

func (d *Deps) readImageID(ctx context.Context, id string) ([]byte, error) {
	if d.Images == nil {
		return nil, inputError("image ids cannot be used: no image store is configured")
	}
	img, err := d.ownImage(ctx, id)
	if err != nil || img.Path == "" {
		return nil, inputError("no saved image has the id %s; use an image_id returned by generate_image", id)
	}
	return d.readFile(img.Path)
}

// readPath confines a path argument to the allowed roots, after resolving symlinks, so a link
// inside a root cannot point outside it.
func (d *Deps) readPath(ctx context.Context, p string) ([]byte, error) {
	if strings.HasPrefix(p, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if !filepath.IsAbs(p) && len(d.AllowedRoots) > 0 {
		p = filepath.Join(d.AllowedRoots[0], p)
	}
	real, err := filepath.EvalSymlinks(filepath.Clean(p))
	if err != nil {
		return nil, inputError("cannot open %s: %s", p, pathProblem(err))
	}
	if d.foreignImageFile(ctx, real) { // answered like a missing file: it is not the caller's
		return nil, inputError("cannot open %s: %s", p, pathProblem(os.ErrNotExist))
	}
	if !d.allowed(real) {
		return nil, inputError("%s is outside the allowed directories (%s); copy the image there or add its folder with --allowed-roots",
			p, strings.Join(d.AllowedRoots, ", "))
	}
	return d.readFile(real)
}

func (d *Deps) allowed(path string) bool {
	for _, root := range d.AllowedRoots {
		r, err := filepath.EvalSymlinks(root)
		if err != nil {
			continue
		}
		rel, err := filepath.Rel(r, path)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (d *Deps) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputError("cannot open %s: %s", path, pathProblem(err))
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, inputError("%s is a directory, not an image file", path)
	}
	return readCapped(f, d.Fetch.MaxBytes)
}

func pathProblem(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	return "it cannot be used"
}

func readCapped(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, inputError("reading the image failed: %v", err)
	}
	if int64(len(data)) > max {
		return nil, inputError("the image is over the %d MiB limit; send a smaller image", max>>20)
	}
	return data, nil
}

func decodeDataURL(s string) ([]byte, error) {
	meta, payload, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, inputError("the data URL must look like data:image/png;base64,<data>")
	}
	return decodeBase64(payload)
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if data, err := enc.DecodeString(s); err == nil && len(data) > 0 {
			return data, nil
		}
	}
	return nil, inputError("the image is neither a path under the allowed roots, an http(s) URL, a data URL, an image_id nor valid base64")
}

// fetch downloads an image with a size cap and a timeout. Unless allowed, addresses that
// resolve to this machine or a private network are refused at dial time, so a redirect or a
// DNS answer cannot sneak past the check.
func (d *Deps) fetch(ctx context.Context, raw string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Fetch.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, inputError("%q is not a valid URL", raw)
	}
	resp, err := d.fetchClient().Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return nil, inputError("%s resolves to a loopback or private address, which is refused; use a public URL or a local path", req.URL.Host)
		}
		return nil, inputError("downloading %s failed: %s", req.URL.Host, apierrors.Sanitize(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, inputError("downloading %s answered HTTP %d", req.URL.Host, resp.StatusCode)
	}
	if resp.ContentLength > d.Fetch.MaxBytes {
		return nil, inputError("the image at %s is %d MiB, over the %d MiB limit", req.URL.Host, resp.ContentLength>>20, d.Fetch.MaxBytes>>20)
	}
	return readCapped(resp.Body, d.Fetch.MaxBytes)
}

var errPrivateAddress = errors.New("address is loopback or private")

func (d *Deps) fetchClient() *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if !d.Fetch.AllowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			ip := net.ParseIP(host)
			if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() ||
				ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() {
				return errPrivateAddress
			}
			return nil
		}
	}
	return &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext, Proxy: nil}}
}
