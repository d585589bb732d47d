package tools

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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

// InputOptions say where input images may come from and what they may cost.
type InputOptions struct {
	AllowedRoots []string // roots that path arguments must stay inside
	Fetch        FetchOptions
}

// Loader reads the images a call names: paths inside the allowed roots, http(s) URLs under the
// dial policy (dialpolicy.go), data URLs and base64, and image ids the caller owns.
type Loader struct {
	images *session.Images // nil: image ids cannot be used
	roots  []string
	limits FetchOptions
	owners *owners
}

func newLoader(o InputOptions, images *session.Images, owners *owners) *Loader {
	o.Fetch.defaults()
	return &Loader{images: images, roots: o.AllowedRoots, limits: o.Fetch, owners: owners}
}

// loadImages reads every reference; the first bad one stops the call before anything is sent.
func (l *Loader) loadImages(ctx context.Context, refs []string) ([]gemini.Image, error) {
	out := make([]gemini.Image, 0, len(refs))
	for i, ref := range refs {
		img, err := l.loadImage(ctx, ref)
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
func (l *Loader) loadImage(ctx context.Context, ref string) (gemini.Image, error) {
	ref = strings.TrimSpace(ref)
	var data []byte
	var err error
	switch {
	case ref == "":
		return gemini.Image{}, inputError("the image reference is empty; pass a path, URL, data URL, base64 or image_id")
	case session.ValidID("img", ref):
		data, err = l.readImageID(ctx, ref)
	case strings.HasPrefix(ref, "data:"):
		data, err = decodeDataURL(ref)
	case strings.HasPrefix(ref, "http://"), strings.HasPrefix(ref, "https://"):
		data, err = l.fetch(ctx, ref)
	case strings.HasPrefix(ref, "file://"):
		u, perr := url.Parse(ref)
		if perr != nil {
			return gemini.Image{}, inputError("%q is not a valid file URL", ref)
		}
		data, err = l.readPath(ctx, u.Path)
	case looksLikePath(ref):
		data, err = l.readPath(ctx, ref)
	default:
		if data, err = decodeBase64(ref); err != nil {
			data, err = l.readPath(ctx, ref) // a relative path; its error says what was wrong
		}
	}
	if err != nil {
		return gemini.Image{}, err
	}
	if int64(len(data)) > l.limits.MaxBytes {
		return gemini.Image{}, inputError("the image is %d MiB, over the %d MiB limit; send a smaller image", len(data)>>20, l.limits.MaxBytes>>20)
	}
	mime := http.DetectContentType(data)
	if isInputImage(mime) {
		return gemini.Image{Data: data, MIMEType: mime}, nil
	}
	return gemini.Image{}, inputError("the data is not a PNG, JPEG or WebP image (it looks like %s)", mime)
}

func inputError(format string, args ...any) *apierrors.Error {
	msg := fmt.Sprintf(format, args...)
	return apierrors.Local(apierrors.InvalidRequest, strings.ToUpper(msg[:1])+msg[1:]+".")
}

// looksLikePath is true for what can only be a path; anything else is tried as base64 first
// (base64 may contain "/" too).
func looksLikePath(s string) bool {
	return strings.HasPrefix(s, "~") || strings.HasPrefix(s, ".") || filepath.IsAbs(s) ||
		strings.HasPrefix(s, "/") || strings.Contains(s, `\`) || (len(s) < 256 && filepath.Ext(s) != "")
}

func (l *Loader) readImageID(ctx context.Context, id string) ([]byte, error) {
	if l.images == nil {
		return nil, inputError("image ids cannot be used: no image store is configured")
	}
	img, err := l.owners.ownImage(ctx, id)
	if err != nil || img.Path == "" {
		return nil, inputError("no saved image has the id %s; use an image_id returned by generate_image", id)
	}
	return l.readFileContext(ctx, img.Path, id)
}

// readPath confines a path argument to the allowed roots. The path is checked before anything
// is opened, and again after symlinks are resolved (a link inside a root cannot point outside
// it). Every refusal before the file is open reads the same, so the answer reveals nothing
// about paths outside the roots, not even whether they exist.
func (l *Loader) readPath(ctx context.Context, p string) ([]byte, error) {
	shown := p
	if strings.HasPrefix(p, "~") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	if !filepath.IsAbs(p) && len(l.roots) > 0 {
		p = filepath.Join(l.roots[0], p)
	}
	p = filepath.Clean(p)
	if !l.allowed(p) {
		return nil, l.notReadable(shown)
	}
	real, err := filepath.EvalSymlinks(p)
	// Another principal's saved image reads like a missing file: a path names it as surely
	// as its id.
	if err != nil || !l.allowed(real) || l.owners.foreignImageFile(ctx, real) {
		return nil, l.notReadable(shown)
	}
	return l.readFileContext(ctx, real, shown)
}

// notReadable is the one answer for a path outside the roots, missing or unopenable.
func (l *Loader) notReadable(path string) error {
	return inputError("not readable here: %s; images may come from: %s", path, strings.Join(l.roots, ", "))
}

// allowed reports whether path lies inside a root, as configured or with its symlinks
// resolved (/tmp is /private/tmp on macOS).
func (l *Loader) allowed(path string) bool {
	for _, root := range l.roots {
		if within(filepath.Clean(root), path) {
			return true
		}
		if r, err := filepath.EvalSymlinks(root); err == nil && within(r, path) {
			return true
		}
	}
	return false
}

func within(root, path string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// readFile reads a file the server itself knows (a saved image).
func (l *Loader) readFile(path string) ([]byte, error) {
	return l.readFileContext(context.Background(), path, path)
}

// readFileContext opens path only if it is a regular file, judged on the opened descriptor
// (no race with a swap after a check by name). O_NONBLOCK keeps the open of a FIFO from
// waiting for a writer, which would hang the worker and, with enough of them, the server. The
// first bytes are sniffed before the rest is read, so a non-image is never read in full.
func (l *Loader) readFileContext(ctx context.Context, path, shown string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, l.notReadable(shown)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, l.notReadable(shown)
	}
	if !st.Mode().IsRegular() {
		return nil, inputError("%s is not a regular file (it is a directory, pipe or device); pass an image file", shown)
	}
	if st.Size() > l.limits.MaxBytes {
		return nil, inputError("the image is %d MiB, over the %d MiB limit; send a smaller image", st.Size()>>20, l.limits.MaxBytes>>20)
	}
	r := &ctxReader{ctx: ctx, r: f}
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, inputError("reading %s failed: %v", shown, err)
	}
	head = head[:n]
	if mime := http.DetectContentType(head); !isInputImage(mime) {
		return nil, inputError("%s is not a PNG, JPEG or WebP image (it looks like %s)", shown, mime)
	}
	rest, err := readCapped(r, l.limits.MaxBytes-int64(n))
	if err != nil {
		return nil, err
	}
	return append(head, rest...), nil
}

func isInputImage(mime string) bool {
	return mime == "image/png" || mime == "image/jpeg" || mime == "image/webp"
}

// ctxReader stops reading once the call is cancelled.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > 1<<20 {
		p = p[:1<<20]
	}
	return c.r.Read(p)
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
func (l *Loader) fetch(ctx context.Context, raw string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, l.limits.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return nil, inputError("%q is not a valid URL", raw)
	}
	resp, err := fetchClient(l.limits.AllowPrivate).Do(req)
	if err != nil {
		if errors.Is(err, errPrivateAddress) {
			return nil, inputError("%s resolves to a loopback or private address (or another range that is not the public internet), which is refused; use a public URL or a local path", req.URL.Host)
		}
		return nil, inputError("downloading %s failed: %s", req.URL.Host, apierrors.Sanitize(err.Error()))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, inputError("downloading %s answered HTTP %d", req.URL.Host, resp.StatusCode)
	}
	if resp.ContentLength > l.limits.MaxBytes {
		return nil, inputError("the image at %s is %d MiB, over the %d MiB limit", req.URL.Host, resp.ContentLength>>20, l.limits.MaxBytes>>20)
	}
	return readCapped(resp.Body, l.limits.MaxBytes)
}
