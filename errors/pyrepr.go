package errors

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// pyToJSON converts a Python literal as printed by repr() — what the Python SDK shows as
// "429 RESOURCE_EXHAUSTED. {'error': {…}}" — to JSON: single- or double-quoted strings with
// Python escapes become JSON strings; True, False and None become true, false and null. It
// reports false for input it cannot convert (an unterminated string). Runs in linear time.
func pyToJSON(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			str, n, ok := pyString(s[i:])
			if !ok {
				return "", false
			}
			enc, _ := json.Marshal(str)
			b.Write(enc)
			i += n
		case isIdentStart(c):
			j := i
			for j < len(s) && (isIdentStart(s[j]) || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			switch w := s[i:j]; w {
			case "True":
				b.WriteString("true")
			case "False":
				b.WriteString("false")
			case "None":
				b.WriteString("null")
			default:
				b.WriteString(w)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), true
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// pyString reads one quoted Python string at the start of s; it returns the value and the
// number of bytes consumed.
func pyString(s string) (string, int, bool) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			e := s[i+1]
			i += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'x':
				if i+2 <= len(s) {
					if v, err := strconv.ParseUint(s[i:i+2], 16, 8); err == nil {
						b.WriteRune(rune(v))
						i += 2
						continue
					}
				}
				b.WriteString(`\x`)
			case 'u':
				if i+4 <= len(s) {
					if v, err := strconv.ParseUint(s[i:i+4], 16, 16); err == nil {
						b.WriteRune(rune(v))
						i += 4
						continue
					}
				}
				b.WriteString(`\u`)
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return "", 0, false
}
