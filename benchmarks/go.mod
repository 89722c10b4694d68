module github.com/flowkit/flow/benchmarks

go 1.26.0

require (
	github.com/flowkit/flow v0.0.0
	github.com/gopacket/gopacket v1.7.7
	github.com/netsampler/goflow2/v2 v2.2.6
)

require (
	golang.org/x/net v0.55.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	google.golang.org/protobuf v1.36.11 // indirect
)

replace github.com/flowkit/flow => ../
