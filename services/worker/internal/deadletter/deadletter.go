// Package deadletter keeps the event messages the worker gave up on in the
// dead-letter stream, and lists and replays them. A dead letter is the
// original payload, unchanged, with Agenttrace-Dlq-* headers saying why and
// where it came from, so a replay is byte-for-byte the message ingest sent.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	ingestv1 "github.com/agenttrace/agenttrace/pkg/gen/agenttrace/ingest/v1"
	"github.com/agenttrace/agenttrace/pkg/stream"
)

// maxReasonLen keeps a long server error from bloating every header.
const maxReasonLen = 1024

var (
	// ErrNotFound: no dead letter has that sequence.
	ErrNotFound = errors.New("dead letter not found")
	// ErrForeignSubject: the letter's original subject is not an events
	// subject of this installation, so it is not replayed there.
	ErrForeignSubject = errors.New("original subject is outside the events stream")
)

// Store reads and writes the dead-letter stream.
type Store struct {
	js  jetstream.JetStream
	cfg stream.Config
}

// New returns a store for the streams named by cfg.
func New(js jetstream.JetStream, cfg stream.Config) *Store {
	return &Store{js: js, cfg: cfg}
}

// Original is the message being dead-lettered, as the events stream held it.
type Original struct {
	Subject    string
	Sequence   uint64 // in the events stream
	Deliveries uint64
	MsgID      string // its Nats-Msg-Id, if any
	Data       []byte
}

// Send stores o in the dead-letter stream with reason and waits for the
// stream's acknowledgement. Sending the same original twice stores it once
// (the stream deduplicates on the original's sequence, when known), so a
// worker that crashes between Send and terminating the original does not
// duplicate it.
func (s *Store) Send(ctx context.Context, o Original, reason string) error {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	msg := nats.NewMsg(s.cfg.DeadLetterSubject(s.project(o.Subject)))
	msg.Data = o.Data
	msg.Header.Set(stream.HeaderDLQReason, reason)
	msg.Header.Set(stream.HeaderDLQSubject, o.Subject)
	msg.Header.Set(stream.HeaderDLQSequence, strconv.FormatUint(o.Sequence, 10))
	msg.Header.Set(stream.HeaderDLQDeliveries, strconv.FormatUint(o.Deliveries, 10))
	if o.MsgID != "" {
		msg.Header.Set(stream.HeaderDLQMsgID, o.MsgID)
	}
	if o.Sequence > 0 {
		msg.Header.Set(jetstream.MsgIDHeader, "dlq:"+s.cfg.EventsStream()+":"+strconv.FormatUint(o.Sequence, 10))
	}
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("publish dead letter: %w", err)
	}
	return nil
}

// project is the project id of an events subject; the subject, not the
// payload, is used because an undecodable payload has no project.
func (s *Store) project(subject string) string {
	if p, ok := strings.CutPrefix(subject, s.cfg.EventSubject("")); ok && p != "" && !strings.ContainsAny(p, ".*> ") {
		return p
	}
	return "unknown"
}

// Letter is one dead letter.
type Letter struct {
	Sequence uint64 // in the dead-letter stream
	Time     time.Time
	Project  string
	Reason   string
	// Subject and OriginalSequence locate the message in the events stream.
	Subject          string
	OriginalSequence uint64
	Deliveries       uint64
	MsgID            string
	// Events is the number of events in the payload, -1 if it does not decode.
	Events int
	Data   []byte
}

func (s *Store) letter(m *jetstream.RawStreamMsg) Letter {
	l := Letter{
		Sequence: m.Sequence,
		Time:     m.Time,
		Project:  strings.TrimPrefix(m.Subject, s.cfg.DeadLetterSubject("")),
		Reason:   m.Header.Get(stream.HeaderDLQReason),
		Subject:  m.Header.Get(stream.HeaderDLQSubject),
		MsgID:    m.Header.Get(stream.HeaderDLQMsgID),
		Events:   -1,
		Data:     m.Data,
	}
	l.OriginalSequence, _ = strconv.ParseUint(m.Header.Get(stream.HeaderDLQSequence), 10, 64)
	l.Deliveries, _ = strconv.ParseUint(m.Header.Get(stream.HeaderDLQDeliveries), 10, 64)
	var env ingestv1.EventEnvelope
	if proto.Unmarshal(m.Data, &env) == nil {
		l.Events = len(env.GetEvents())
	}
	return l
}

// List returns up to limit dead letters, oldest first (all when limit <= 0).
func (s *Store) List(ctx context.Context, limit int) ([]Letter, error) {
	st, err := s.js.Stream(ctx, s.cfg.DeadLetterStream())
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream: %w", err)
	}
	var out []Letter
	// Walk by "next message on the subject at or after seq" so the gaps that
	// replays leave cost nothing.
	for seq := uint64(1); limit <= 0 || len(out) < limit; {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(s.cfg.DeadLetterSubjects()))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read dead letter at %d: %w", seq, err)
		}
		out = append(out, s.letter(m))
		seq = m.Sequence + 1
	}
	return out, nil
}

// Replay republishes the dead letter seq to the events subject it came from
// and, once the events stream has acknowledged it, deletes the letter. The
// republished message's id is "replay:<seq>", so replaying again after a
// failure between the two steps does not store it twice.
func (s *Store) Replay(ctx context.Context, seq uint64) error {
	st, err := s.js.Stream(ctx, s.cfg.DeadLetterStream())
	if err != nil {
		return fmt.Errorf("dead-letter stream: %w", err)
	}
	m, err := st.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("%w: %d", ErrNotFound, seq)
	}
	if err != nil {
		return fmt.Errorf("read dead letter %d: %w", seq, err)
	}
	l := s.letter(m)
	subject := l.Subject
	if subject == "" {
		subject = s.cfg.EventSubject(l.Project)
	}
	if p, ok := strings.CutPrefix(subject, s.cfg.EventSubject("")); !ok || p == "" {
		return fmt.Errorf("%w: %q", ErrForeignSubject, subject)
	}
	msg := nats.NewMsg(subject)
	msg.Data = l.Data
	msg.Header.Set(jetstream.MsgIDHeader, "replay:"+strconv.FormatUint(seq, 10))
	if _, err := s.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("republish dead letter %d: %w", seq, err)
	}
	if err := st.DeleteMsg(ctx, seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete replayed dead letter %d: %w", seq, err)
	}
	return nil
}
