package sflow

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestFastPathsAgree checks the shortcuts Flow takes (gatewayFlow, routerFlow) against
// the accessors' decoders on mutations of valid records: same verdict, same values.
func TestFastPathsAgree(t *testing.T) {
	w := func(vs ...uint32) []byte {
		var b []byte
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	gateways := [][]byte{
		w(1, 0x0a000001, 65000, 65001, 65002, 2, 2, 3, 1, 2, 3, 1, 1, 9, 2, 100, 200, 150),
		append(append(w(2), make([]byte, 16)...), w(1, 2, 3, 0, 0, 7)...),
		w(0, 1, 0, 3, 1, 2, 0, 0, 5),
	}
	routers := [][]byte{w(1, 0x0a000001, 24, 16), append(append(w(2), make([]byte, 16)...), w(64, 48)...), w(0, 1, 2)}
	rng := rand.New(rand.NewPCG(3, 4))
	mutate := func(b []byte) []byte {
		b = append([]byte(nil), b...)
		switch rng.IntN(4) {
		case 0:
			b = b[:rng.IntN(len(b)+1)]
		case 1:
			if len(b) >= 4 {
				at := rng.IntN(len(b)/4) * 4
				binary.BigEndian.PutUint32(b[at:], []uint32{0, 1, 2, 3, 0xffffffff, 1 << 30}[rng.IntN(6)])
			}
		case 2:
			b = append(b, make([]byte, 4*rng.IntN(4))...)
		}
		return b
	}
	for i := 0; i < 20000; i++ {
		g := mutate(gateways[rng.IntN(len(gateways))])
		full, ok1 := decodeExtendedGateway(g)
		nh, as, src, dst, ok2 := gatewayFlow(g)
		if ok1 != ok2 || (ok1 && (nh != full.NextHop || as != full.AS || src != full.SrcAS || dst != full.DstAS())) {
			t.Fatalf("gateway % x: decoder %v %+v, fast path %v %v %d %d %d", g, ok1, full, ok2, nh, as, src, dst)
		}
		r := mutate(routers[rng.IntN(len(routers))])
		a, ok1 := decodeExtendedRouter(r)
		b, ok2 := routerFlow(r)
		if ok1 != ok2 || a != b {
			t.Fatalf("router % x: %v %+v, fast path %v %+v", r, ok1, a, ok2, b)
		}
	}
}
