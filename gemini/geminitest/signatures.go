package geminitest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Thought signatures.
//
// The real API's signatures are opaque, encrypted blobs bound to the model and
// to the part they were issued on. The simulator mimics exactly the properties
// a client can observe, and nothing more:
//
//	sig = "nbs1" || HMAC-SHA256(secret, model || 0x00 || kind || 0x00 || SHA-256(content))
//
// where kind is "text" or "image", content is the text or the decoded image
// bytes, and secret is per server (random, or Config.SignatureSecret so that
// conversations survive a restart of --simulate). HMAC makes signatures
// unforgeable by clients and verifiable without server-side state (no table
// of issued signatures that grows forever); binding model and content makes a
// signature moved to another part, replayed with edited text or re-encoded
// image bytes, or sent to another model fail, as it does upstream.
const sigPrefix = "nbs1"

// skipSignature is the dummy value Google documents for history the model
// did not produce ("skip_thought_signature_validator"); it passes validation.
const skipSignature = "skip_thought_signature_validator"

type signer struct{ secret []byte }

func (s signer) sign(model, kind string, content []byte) []byte {
	h := sha256.Sum256(content)
	mac := hmac.New(sha256.New, s.secret)
	mac.Write([]byte(model))
	mac.Write([]byte{0})
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write(h[:])
	return append([]byte(sigPrefix), mac.Sum(nil)...)
}

// signPart returns the base64 signature for a text or image part.
func (s signer) signText(model, text string) string {
	return base64.StdEncoding.EncodeToString(s.sign(model, "text", []byte(text)))
}

func (s signer) signImage(model string, png []byte) string {
	return base64.StdEncoding.EncodeToString(s.sign(model, "image", png))
}

// verify reports whether sig (base64 on the wire) was issued by this server
// for this model and part.
func (s signer) verify(model string, p wirePart, sig string) bool {
	raw, err := decodeB64(sig)
	if err != nil {
		return false
	}
	if string(raw) == skipSignature {
		return true
	}
	var want []byte
	switch {
	case p.InlineData != nil:
		data, err := decodeB64(p.InlineData.Data)
		if err != nil {
			return false
		}
		want = s.sign(model, "image", data)
	case p.Text != nil:
		want = s.sign(model, "text", []byte(*p.Text))
	default:
		return false
	}
	return hmac.Equal(raw, want)
}

// checkHistory walks contents[] and returns the 400 message the API answers
// for the first replayed model part whose signature is missing (only when
// enforce is set) or not one this server issued for this model and part.
// Positions in the message are 1-based, as upstream.
func (s signer) checkHistory(model string, contents []wireContent, enforce bool) string {
	for ci, c := range contents {
		if c.Role != "model" {
			continue
		}
		seenImage, seenText := false, false
		for pi, p := range c.Parts {
			image := p.InlineData != nil && strings.HasPrefix(p.InlineData.MIMEType, "image/")
			needs := false
			if !p.Thought {
				switch {
				case image:
					needs, seenImage = true, true
				case p.Text != nil && !seenText && !seenImage:
					needs = true
				}
				if p.Text != nil {
					seenText = true
				}
			}
			if p.ThoughtSignature == "" {
				if needs && enforce {
					kind := "Text"
					if image {
						kind = "Image"
					}
					return fmt.Sprintf("%s part is missing a thought_signature in content position %d, part position %d.", kind, ci+1, pi+1)
				}
				continue
			}
			if !s.verify(model, p, p.ThoughtSignature) {
				return "Corrupted thought signature."
			}
		}
	}
	return ""
}

// decodeB64 accepts standard and URL-safe base64, padded or not: proto JSON
// parsers accept all four.
func decodeB64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("decoding base64 field: invalid data")
}
