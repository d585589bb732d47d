package session

import (
	"fmt"
	"testing"
	"time"

	"github.com/nanobanana-mcp/nanobanana-mcp/internal/redistest"
)

// BenchmarkTurns builds 20-turn conversations with 1 MB final images (plus a 256 KB thought
// image and signatures per turn), fsync on, and reports per turn: AppendTurn time, History
// time and the history's size on the wire; with FileStore and with RedisStore (on a local
// redis-server, so the figures are the store's overhead without a network).
func BenchmarkTurns(b *testing.B) {
	b.Run("file", func(b *testing.B) {
		s, err := Open(b.TempDir(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		benchTurns(b, s)
	})
	b.Run("redis", func(b *testing.B) {
		benchTurns(b, openRedis(b, redistest.URL(b), RedisOptions{}))
	})
}

func benchTurns(b *testing.B, s Store) {
	const turns = 20
	var appendT, historyT [turns]time.Duration
	var wire [turns]int64
	iters := 0
	for b.Loop() {
		iters++
		c, _ := s.Create(ctx, Conversation{Model: "m"})
		f := newFixture(uint64(iters), 1<<20)
		for i := range turns {
			turn := f.turn(i)
			start := time.Now()
			meta, err := s.AppendTurn(ctx, c.ID, turn)
			appendT[i] += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			if _, err := s.History(ctx, c.ID); err != nil {
				b.Fatal(err)
			}
			historyT[i] += time.Since(start)
			wire[i] = meta.HistoryBytes()
		}
	}
	for _, i := range []int{0, 4, 9, 19} {
		b.ReportMetric(float64(appendT[i].Microseconds())/float64(iters), fmt.Sprintf("append-us@%d", i+1))
		b.ReportMetric(float64(historyT[i].Microseconds())/float64(iters), fmt.Sprintf("history-us@%d", i+1))
		b.ReportMetric(float64(wire[i])/1e6, fmt.Sprintf("wire-MB@%d", i+1))
	}
}
