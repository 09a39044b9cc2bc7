package db

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scoria/scoria/internal/resource"
)

func outboxIDs(msgs []resource.OutboxMessage) []int64 {
	var out []int64
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return out
}

func TestOutbox(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var sent []resource.OutboxMessage
		for i := range 5 {
			sent = append(sent, mustCreate(t, s, volume("p"), message(fmt.Sprint("m", i)))...)
		}
		after := time.Now().UTC().Add(time.Millisecond)
		time.Sleep(2 * time.Millisecond) // claims are stamped after `after`

		// Nothing is older than a time before the messages were written.
		if got, err := s.ClaimOutbox(ctx, sent[0].CreatedAt, 0); err != nil || len(got) != 0 {
			t.Fatalf("ClaimOutbox(before all) = %v, %v; want none", outboxIDs(got), err)
		}

		got, err := s.ClaimOutbox(ctx, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		if want := outboxIDs(sent[:3]); !slices.Equal(outboxIDs(got), want) {
			t.Fatalf("first claim = %v, want the oldest 3 %v", outboxIDs(got), want)
		}
		if m := got[0]; m.Topic != "scoria-volume" || m.Server != "host@lvm" || m.Method != "m0" ||
			string(m.Args) != `{"volume_id":"x"}` || string(m.Context) != `{"request_id":"req-1"}` || m.CreatedAt != sent[0].CreatedAt {
			t.Errorf("claimed message = %+v, want %+v", m, sent[0])
		}

		// Within the same window the claimed rows are taken; the rest remain.
		got, err = s.ClaimOutbox(ctx, after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := outboxIDs(sent[3:]); !slices.Equal(outboxIDs(got), want) {
			t.Fatalf("second claim = %v, want %v", outboxIDs(got), want)
		}
		if got, err := s.ClaimOutbox(ctx, after, 0); err != nil || len(got) != 0 {
			t.Fatalf("third claim = %v, %v; want none", outboxIDs(got), err)
		}

		// Once the window has passed (a relay died after claiming), they can be claimed again.
		if err := s.DeleteOutbox(ctx, sent[0].ID, sent[4].ID, 424242); err != nil {
			t.Fatal(err)
		}
		got, err = s.ClaimOutbox(ctx, time.Now().UTC().Add(time.Second), 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := outboxIDs(sent[1:4]); !slices.Equal(outboxIDs(got), want) {
			t.Fatalf("claim after the window = %v, want %v", outboxIDs(got), want)
		}
		if err := s.DeleteOutbox(ctx, outboxIDs(got)...); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteOutbox(ctx); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, s, "outbox"); n != 0 {
			t.Errorf("outbox has %d rows after deleting all", n)
		}
	})
}

// TestClaimOutboxConcurrent: relays claiming at once never both get a message, and together
// get all of them.
func TestClaimOutboxConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 200
		for i := range n / 4 {
			mustCreate(t, s, volume("p"), message(fmt.Sprint(i, "a")), message(fmt.Sprint(i, "b")), message(fmt.Sprint(i, "c")), message(fmt.Sprint(i, "d")))
		}
		olderThan := time.Now().UTC().Add(time.Millisecond)
		time.Sleep(2 * time.Millisecond)

		const relays = 4
		var mu sync.Mutex
		seen := map[int64]int{}
		var wg sync.WaitGroup
		for r := range relays {
			wg.Go(func() {
				for {
					got, err := s.ClaimOutbox(ctx, olderThan, 7+r)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						seen[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("relays claimed %d distinct messages, want %d", len(seen), n)
		}
		for id, times := range seen {
			if times != 1 {
				t.Errorf("message %d claimed %d times", id, times)
			}
		}
	})
}
