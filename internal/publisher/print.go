package publisher

import (
	"context"
	"fmt"
	"io"

	"github.com/sysmon-dev/sysmon/internal/snapshot"
)

// Print takes one sample and writes the snapshot that would be published,
// as the JSON body of the message, without queueing it (sysmon-publisher -print).
func (s *Service) Print(ctx context.Context, w io.Writer) error {
	snap, err := s.sampler.Sample(ctx)
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	s.stamp(snap)
	body, err := snapshot.Encode(snap)
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	if _, err := fmt.Fprintf(w, "%s\n", body); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}
