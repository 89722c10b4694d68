package exporter

import "errors"

// newIPFIXEncoder is filled in by the IPFIX codec.
func newIPFIXEncoder(cfg *Config) (encoder, error) {
	return nil, errors.New("exporter: IPFIX export is not in this build yet")
}
