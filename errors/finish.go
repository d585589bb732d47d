package errors

import (
	"fmt"
	"strings"
)

// FromFinish explains a 200 answer that carried no image, from the candidate's finish reason
// (IMAGE_SAFETY, NO_IMAGE, MISSING_THOUGHT_SIGNATURE, …), its finishMessage and any text the
// model wrote instead. The model's own words, sanitised and shortened, go in Detail and, briefly,
// in the summary.
func FromFinish(reason, finishMessage, modelText string) *Error {
	r := normReason(reason)
	words := modelWords(finishMessage, modelText)
	d := Diagnosis{HTTPStatus: 200, Status: r, Detail: clean(strings.TrimSpace(finishMessage+"\n"+modelText), 500)}
	label := r
	if label == "" {
		label = "no finish reason"
	}
	switch r {
	case "IMAGE_SAFETY", "SAFETY", "IMAGE_PROHIBITED_CONTENT", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII":
		d.Category, d.Case = SafetyBlocked, "output"
		d.Summary = fmt.Sprintf("Gemini withheld the image under its safety policy (%s)%s; rephrase the prompt, since sending it again unchanged will be blocked again.", label, words)
	case "IMAGE_RECITATION", "RECITATION":
		d.Category, d.Case = SafetyBlocked, "recitation"
		d.Summary = fmt.Sprintf("Gemini withheld the image because it resembled existing work too closely (%s)%s; ask for an original composition instead.", label, words)
	case "MISSING_THOUGHT_SIGNATURE":
		d.Category = MissingThoughtSignature
		d.Summary = fmt.Sprintf("Gemini stopped because a replayed model turn lacked its thought signature (%s)%s; replay the history exactly, or start a new conversation from the last image.", label, words)
	case "MAX_TOKENS":
		d.Category, d.Case = NoImage, "max_tokens"
		d.Summary = fmt.Sprintf("Gemini ran out of output tokens before producing an image (%s)%s; remove or raise the output token limit.", label, words)
	default:
		d.Category, d.Case = NoImage, defaultCase
		d.Summary = fmt.Sprintf("Gemini returned no image (%s)%s; retry, or ask explicitly for an image in the prompt.", label, words)
	}
	if e, ok := Lookup(d.Category, d.Case); ok {
		d.Case = e.Case
		d.Retryable = e.Retryable
	}
	return &Error{Diagnosis: complete(d)}
}

// FromPromptBlock explains a 200 answer whose prompt was refused before generation
// (promptFeedback.blockReason: SAFETY, PROHIBITED_CONTENT, BLOCKLIST, IMAGE_SAFETY, OTHER, …).
func FromPromptBlock(blockReason, message string) *Error {
	r := normReason(blockReason)
	if r == "" {
		r = "BLOCKED"
	}
	words := modelWords(message, "")
	what := "the prompt"
	if r == "IMAGE_SAFETY" {
		what = "a reference image"
	}
	d := Diagnosis{
		Category: SafetyBlocked, Case: "prompt", HTTPStatus: 200, Status: r,
		Detail:  clean(message, 500),
		Summary: fmt.Sprintf("Gemini refused %s before generating (%s)%s; rephrase the prompt or change the reference images, since retrying unchanged will be refused again.", what, r, words),
	}
	if e, ok := Lookup(d.Category, d.Case); ok {
		d.Retryable = e.Retryable
	}
	return &Error{Diagnosis: complete(d)}
}

func normReason(r string) string {
	r = strings.ToUpper(strings.TrimSpace(r))
	r = strings.TrimPrefix(r, "FINISHREASON.")
	r = strings.TrimPrefix(r, "BLOCKEDREASON.")
	r = strings.TrimPrefix(r, "BLOCK_REASON_")
	if r == "FINISH_REASON_UNSPECIFIED" || r == "BLOCKED_REASON_UNSPECIFIED" {
		return ""
	}
	return clean(r, 60)
}

// modelWords quotes what the model said, briefly, for a summary.
func modelWords(finishMessage, modelText string) string {
	w := strings.TrimSpace(finishMessage)
	if w == "" {
		w = strings.TrimSpace(modelText)
	}
	if w == "" {
		return ""
	}
	return "; the model said “" + strings.TrimRight(clean(w, 160), ".") + "”"
}
