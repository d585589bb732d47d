package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"regexp"
	"strings"

	"github.com/nanobanana-mcp/nanobanana-mcp/session"
)

// TokenPrincipal is the principal of the single --auth-token.
const TokenPrincipal = "default"

// Principal is a named bearer token: everything a client holding the token stores belongs to
// Name, and no other principal can see it.
type Principal struct {
	Name  string
	Token string
}

var principalName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// ParseTokens reads an --auth-tokens-file: one name=token a line; blank lines and lines
// starting with # are skipped. A bad line is refused with its number; the error never quotes
// a token.
func ParseTokens(data []byte) ([]Principal, error) {
	var out []Principal
	names, tokens := map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, token, ok := strings.Cut(line, "=")
		name, token = strings.TrimSpace(name), strings.TrimSpace(token)
		switch {
		case !ok:
			return nil, fmt.Errorf("line %d is not name=token", n)
		case !principalName.MatchString(name):
			return nil, fmt.Errorf("line %d: the name must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", n)
		case name == session.LocalUser:
			return nil, fmt.Errorf("line %d: the name %q is reserved for the local user (stdio); choose another", n, name)
		case token == "":
			return nil, fmt.Errorf("line %d: the token of %s is empty", n, name)
		case strings.ContainsAny(token, " \t"):
			return nil, fmt.Errorf("line %d: the token of %s contains white space", n, name)
		case names[name] > 0:
			return nil, fmt.Errorf("line %d: %s is already named on line %d", n, name, names[name])
		case tokens[token] > 0:
			return nil, fmt.Errorf("line %d: the token of %s is the same as the one on line %d; give each principal its own", n, name, tokens[token])
		}
		names[name], tokens[token] = n, n
		out = append(out, Principal{Name: name, Token: token})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the tokens: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no name=token line found")
	}
	return out, nil
}

// tokenTable answers which principal a bearer token belongs to, comparing against every
// token in constant time so the answer's timing says nothing about which one was close.
type tokenTable struct {
	names []string
	sums  [][sha256.Size]byte
}

func newTokenTable(ps []Principal) *tokenTable {
	t := &tokenTable{}
	for _, p := range ps {
		t.names = append(t.names, p.Name)
		t.sums = append(t.sums, sha256.Sum256([]byte(p.Token)))
	}
	return t
}

func (t *tokenTable) empty() bool { return len(t.names) == 0 }

// lookup returns the principal of token, or false.
func (t *tokenTable) lookup(token string) (string, bool) {
	got := sha256.Sum256([]byte(token))
	found := -1
	for i := range t.sums {
		if subtle.ConstantTimeCompare(got[:], t.sums[i][:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return "", false
	}
	return t.names[found], true
}
