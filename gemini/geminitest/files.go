package geminitest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The Files API as the genai SDK drives it (files.go, api_client.go: upload): a resumable
// upload — POST upload/v1beta/files with X-Goog-Upload-Command "start" answers an
// X-Goog-Upload-Url; chunks are POSTed there with "upload" and the last with "upload,
// finalize", each carrying X-Goog-Upload-Offset; every answer carries X-Goog-Upload-Status
// ("active", then "final" with the File resource). files.get, and files/{id}:download for
// files the service generated (batch output). Files expire 48 hours after creation.

const fileTTL = 48 * time.Hour

type simFile struct {
	Name        string
	DisplayName string
	MIMEType    string
	Data        []byte
	Created     time.Time
	Generated   bool // made by the service (downloadable); uploads are not
}

type upload struct {
	file *simFile
	buf  []byte
}

type fileStore struct {
	mu      sync.Mutex
	files   map[string]*simFile // by id (the part after "files/")
	uploads map[string]*upload  // by upload_id
}

func newFileStore() *fileStore {
	return &fileStore{files: map[string]*simFile{}, uploads: map[string]*upload{}}
}

// newID returns a lowercase alphanumeric id: the SDK's tFileName accepts only [a-z0-9]+.
func newID(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func (f *simFile) resource(base string) map[string]any {
	sum := sha256.Sum256(f.Data)
	source := "UPLOADED"
	if f.Generated {
		source = "GENERATED"
	}
	return map[string]any{
		"name": f.Name, "displayName": f.DisplayName, "mimeType": f.MIMEType,
		"sizeBytes": strconv.Itoa(len(f.Data)), "createTime": f.Created.UTC().Format(time.RFC3339Nano),
		"updateTime": f.Created.UTC().Format(time.RFC3339Nano), "expirationTime": f.Created.Add(fileTTL).UTC().Format(time.RFC3339Nano),
		"sha256Hash": base64.StdEncoding.EncodeToString(sum[:]), "uri": base + "v1beta/" + f.Name,
		"state": "ACTIVE", "source": source,
	}
}

// get returns a file that exists and has not expired.
func (fs *fileStore) get(id string, now time.Time) (*simFile, bool) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, ok := fs.files[id]
	if ok && now.Sub(f.Created) > fileTTL {
		delete(fs.files, id)
		return nil, false
	}
	return f, ok
}

func (fs *fileStore) put(f *simFile) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.files[strings.TrimPrefix(f.Name, "files/")] = f
}

func fileNotFound(id string) rpcStatus {
	return rpcStatus{Code: 403, Status: "PERMISSION_DENIED",
		Message: "You do not have permission to access the File " + id + " or it may not exist."}
}

// serveUpload handles POST …/upload/v1beta/files: the start of a resumable upload, or a chunk.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request, body []byte) {
	cmd := strings.ToLower(r.Header.Get("X-Goog-Upload-Command"))
	if id := r.URL.Query().Get("upload_id"); id != "" {
		s.serveChunk(w, r, id, cmd, body)
		return
	}
	if cmd != "start" || !strings.EqualFold(r.Header.Get("X-Goog-Upload-Protocol"), "resumable") {
		writeStatus(w, invalidArgument("Upload requests must use the resumable protocol and start with X-Goog-Upload-Command: start."))
		return
	}
	var req struct {
		File struct {
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
			MIMEType    string `json:"mimeType"`
		} `json:"file"`
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeStatus(w, invalidArgument("Invalid JSON payload received. "+strings.TrimPrefix(err.Error(), "json: ")))
			return
		}
	}
	mime := req.File.MIMEType
	if mime == "" {
		mime = r.Header.Get("X-Goog-Upload-Header-Content-Type")
	}
	name := req.File.Name
	if name == "" {
		name = "files/" + newID(12)
	}
	f := &simFile{Name: name, DisplayName: req.File.DisplayName, MIMEType: mime, Created: s.now()}
	uid := newID(24)
	s.files.mu.Lock()
	s.files.uploads[uid] = &upload{file: f}
	s.files.mu.Unlock()
	scheme := "http"
	w.Header().Set("X-Goog-Upload-Url", scheme+"://"+r.Host+r.URL.Path+"?upload_id="+uid+"&upload_protocol=resumable")
	w.Header().Set("X-Goog-Upload-Status", "active")
	w.Header().Set("X-Goog-Upload-Chunk-Granularity", "8388608")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) serveChunk(w http.ResponseWriter, r *http.Request, id, cmd string, body []byte) {
	s.files.mu.Lock()
	up, ok := s.files.uploads[id]
	if !ok {
		s.files.mu.Unlock()
		w.Header().Set("X-Goog-Upload-Status", "cancelled")
		writeStatus(w, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Upload session not found."})
		return
	}
	off, err := strconv.Atoi(r.Header.Get("X-Goog-Upload-Offset"))
	if err != nil || off != len(up.buf) {
		s.files.mu.Unlock()
		w.Header().Set("X-Goog-Upload-Status", "active")
		writeStatus(w, invalidArgument("X-Goog-Upload-Offset "+r.Header.Get("X-Goog-Upload-Offset")+
			" does not match the "+strconv.Itoa(len(up.buf))+" bytes received so far."))
		return
	}
	up.buf = append(up.buf, body...)
	if !strings.Contains(cmd, "finalize") {
		s.files.mu.Unlock()
		w.Header().Set("X-Goog-Upload-Status", "active")
		w.WriteHeader(http.StatusOK)
		return
	}
	delete(s.files.uploads, id)
	up.file.Data = up.buf
	s.files.mu.Unlock()
	s.files.put(up.file)
	w.Header().Set("X-Goog-Upload-Status", "final")
	writeJSON(w, http.StatusOK, map[string]any{"file": up.file.resource(s.baseURL(r))})
}

// serveFile handles GET files/{id} and files/{id}:download.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, id, action string) {
	f, ok := s.files.get(id, s.now())
	if !ok {
		writeStatus(w, fileNotFound(id))
		return
	}
	switch {
	case action == "" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, f.resource(s.baseURL(r)))
	case action == "download" && r.Method == http.MethodGet:
		if !f.Generated {
			writeStatus(w, invalidArgument("Only generated files can be downloaded."))
			return
		}
		w.Header().Set("Content-Type", f.MIMEType)
		w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(f.Data)
	case action == "" && r.Method == http.MethodDelete:
		s.files.mu.Lock()
		delete(s.files.files, id)
		s.files.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{})
	default:
		writeStatus(w, rpcStatus{Code: 404, Status: "NOT_FOUND", Message: "Requested entity was not found."})
	}
}

func (s *Server) baseURL(r *http.Request) string { return "http://" + r.Host + "/" }
