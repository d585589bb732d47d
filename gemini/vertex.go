package gemini

import (
	"context"
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"

	apierrors "github.com/nanobanana-mcp/nanobanana-mcp/errors"
)

// vertexCredentials finds Application Default Credentials (a service-account or user file,
// workload identity, the metadata server) and attaches them to hc, as genai does for the
// client it would make itself: a bearer token on every request, and the quota project of
// user credentials in X-Goog-User-Project.
func vertexCredentials(ctx context.Context, hc *http.Client, file string) (*auth.Credentials, error) {
	creds, err := credentials.DetectDefault(&credentials.DetectOptions{
		Scopes:          []string{"https://www.googleapis.com/auth/cloud-platform"},
		CredentialsFile: file,
	})
	if err != nil {
		e := apierrors.New(apierrors.Auth, "Vertex AI needs Application Default Credentials and none were found; run "+
			"`gcloud auth application-default login`, set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, "+
			"or run on Google Cloud with a service account.")
		e.Diagnosis.Actor = apierrors.ActorYou
		e.Err = err
		return nil, e
	}
	if err := httptransport.AddAuthorizationMiddleware(hc, creds); err != nil {
		return nil, apierrors.New(apierrors.Auth, "The Vertex AI credentials could not be attached: "+apierrors.Sanitize(err.Error()))
	}
	if qp, err := creds.QuotaProjectID(ctx); err == nil && qp != "" {
		hc.Transport = &headerTransport{next: hc.Transport, key: "X-Goog-User-Project", value: qp}
	}
	return creds, nil
}

// headerTransport sets one header on every request.
type headerTransport struct {
	next       http.RoundTripper
	key, value string
}

func (t *headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(t.key, t.value)
	return t.next.RoundTrip(r)
}
