package sflow

import (
	"unsafe"

	"github.com/flowkit/flow"
)

// Counter record formats (enterprise 0) that this package decodes: sflow_version_5.txt, and
// the LAG, optics, OpenFlow, host, virtualization and application structures.
const (
	CountersGeneric       Format = 1    // if_counters (RFC 2233)
	CountersEthernet      Format = 2    // ethernet_counters (RFC 2358)
	CountersTokenRing     Format = 3    // tokenring_counters (RFC 1748)
	CountersVG            Format = 4    // vg_counters, 100BaseVG (RFC 2020)
	CountersVLAN          Format = 5    // vlan_counters
	CountersIEEE80211     Format = 6    // ieee80211_counters
	CountersLAG           Format = 7    // lag_port_stats (IEEE 802.3ad)
	CountersSFP           Format = 10   // sfp: optical module metrics
	CountersProcessor     Format = 1001 // processor
	CountersRadio         Format = 1002 // radio_utilization
	CountersOpenFlowPort  Format = 1004 // of_port
	CountersPortName      Format = 1005 // port_name
	CountersHostDescr     Format = 2000 // host_descr
	CountersHostAdapters  Format = 2001 // host_adapters
	CountersHostParent    Format = 2002 // host_parent
	CountersHostCPU       Format = 2003 // host_cpu
	CountersHostMemory    Format = 2004 // host_memory
	CountersHostDiskIO    Format = 2005 // host_disk_io
	CountersHostNetIO     Format = 2006 // host_net_io
	CountersMIB2IP        Format = 2007 // mib2_ip_group
	CountersMIB2ICMP      Format = 2008 // mib2_icmp_group
	CountersMIB2TCP       Format = 2009 // mib2_tcp_group
	CountersMIB2UDP       Format = 2010 // mib2_udp_group
	CountersVirtNode      Format = 2100 // virt_node
	CountersVirtCPU       Format = 2101 // virt_cpu
	CountersVirtMemory    Format = 2102 // virt_memory
	CountersVirtDiskIO    Format = 2103 // virt_disk_io
	CountersVirtNetIO     Format = 2104 // virt_net_io (the layout of host_net_io)
	CountersAppOperations Format = 2202 // app_operations
	CountersAppResources  Format = 2203 // app_resources
	CountersAppWorkers    Format = 2206 // app_workers
	CountersOVSDP         Format = 2207 // ovs_dp_stats (Open vSwitch datapath)
)

// uint32s decodes a structure made only of 32-bit unsigned integers, field by field in
// memory order, which for such a struct is the wire order.
func uint32s[T any](rec Record) (T, error) {
	var v T
	fields := unsafe.Slice((*uint32)(unsafe.Pointer(&v)), unsafe.Sizeof(v)/4)
	x := xdr{b: rec.Data}
	for i := range fields {
		fields[i] = x.u32()
	}
	if x.short {
		var zero T
		return zero, recordError(rec.Format, rec.Offset, len(rec.Data))
	}
	return v, nil
}

// IfCounters is the generic interface counters record (if_counters).
type IfCounters struct {
	Index     uint32
	Type      uint32 // ifType (6 is Ethernet)
	Speed     uint64 // bits per second
	Direction uint32 // 0 unknown, 1 full-duplex, 2 half-duplex, 3 in, 4 out
	// Status: bit 0 ifAdminStatus up, bit 1 ifOperStatus up.
	Status                                           uint32
	InOctets                                         uint64
	InUcastPkts, InMulticastPkts, InBroadcastPkts    uint32
	InDiscards, InErrors, InUnknownProtos            uint32
	OutOctets                                        uint64
	OutUcastPkts, OutMulticastPkts, OutBroadcastPkts uint32
	OutDiscards, OutErrors                           uint32
	PromiscuousMode                                  uint32
}

// IfCounters decodes an if_counters record.
func (r Record) IfCounters() (IfCounters, error) {
	x := xdr{b: r.Data}
	c := IfCounters{
		Index: x.u32(), Type: x.u32(), Speed: x.u64(), Direction: x.u32(), Status: x.u32(),
		InOctets: x.u64(), InUcastPkts: x.u32(), InMulticastPkts: x.u32(), InBroadcastPkts: x.u32(),
		InDiscards: x.u32(), InErrors: x.u32(), InUnknownProtos: x.u32(),
		OutOctets: x.u64(), OutUcastPkts: x.u32(), OutMulticastPkts: x.u32(), OutBroadcastPkts: x.u32(),
		OutDiscards: x.u32(), OutErrors: x.u32(), PromiscuousMode: x.u32(),
	}
	if x.short {
		return IfCounters{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// EthernetCounters is the ethernet_counters record (dot3Stats, RFC 2358).
type EthernetCounters struct {
	AlignmentErrors, FCSErrors                     uint32
	SingleCollisionFrames, MultipleCollisionFrames uint32
	SQETestErrors, DeferredTransmissions           uint32
	LateCollisions, ExcessiveCollisions            uint32
	InternalMacTransmitErrors, CarrierSenseErrors  uint32
	FrameTooLongs, InternalMacReceiveErrors        uint32
	SymbolErrors                                   uint32
}

// EthernetCounters decodes an ethernet_counters record.
func (r Record) EthernetCounters() (EthernetCounters, error) { return uint32s[EthernetCounters](r) }

// TokenRingCounters is the tokenring_counters record (dot5Stats, RFC 1748).
type TokenRingCounters struct {
	LineErrors, BurstErrors, ACErrors, AbortTransErrors, InternalErrors       uint32
	LostFrameErrors, ReceiveCongestions, FrameCopiedErrors, TokenErrors       uint32
	SoftErrors, HardErrors, SignalLoss, TransmitBeacons, Recoverys, LobeWires uint32
	Removes, Singles, FreqErrors                                              uint32
}

// TokenRingCounters decodes a tokenring_counters record.
func (r Record) TokenRingCounters() (TokenRingCounters, error) { return uint32s[TokenRingCounters](r) }

// VGCounters is the vg_counters record (100BaseVG, dot12, RFC 2020).
type VGCounters struct {
	InHighPriorityFrames                             uint32
	InHighPriorityOctets                             uint64
	InNormPriorityFrames                             uint32
	InNormPriorityOctets                             uint64
	InIPMErrors, InOversizeFrameErrors, InDataErrors uint32
	InNullAddressedFrames, OutHighPriorityFrames     uint32
	OutHighPriorityOctets                            uint64
	TransitionIntoTrainings                          uint32
	HCInHighPriorityOctets, HCInNormPriorityOctets   uint64
	HCOutHighPriorityOctets                          uint64
}

// VGCounters decodes a vg_counters record.
func (r Record) VGCounters() (VGCounters, error) {
	x := xdr{b: r.Data}
	c := VGCounters{
		InHighPriorityFrames: x.u32(), InHighPriorityOctets: x.u64(),
		InNormPriorityFrames: x.u32(), InNormPriorityOctets: x.u64(),
		InIPMErrors: x.u32(), InOversizeFrameErrors: x.u32(), InDataErrors: x.u32(),
		InNullAddressedFrames: x.u32(), OutHighPriorityFrames: x.u32(), OutHighPriorityOctets: x.u64(),
		TransitionIntoTrainings: x.u32(), HCInHighPriorityOctets: x.u64(), HCInNormPriorityOctets: x.u64(),
		HCOutHighPriorityOctets: x.u64(),
	}
	if x.short {
		return VGCounters{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// VLANCounters is the vlan_counters record.
type VLANCounters struct {
	VLAN                                    uint32
	Octets                                  uint64
	UcastPkts, MulticastPkts, BroadcastPkts uint32
	Discards                                uint32
}

// VLANCounters decodes a vlan_counters record.
func (r Record) VLANCounters() (VLANCounters, error) {
	x := xdr{b: r.Data}
	c := VLANCounters{VLAN: x.u32(), Octets: x.u64(), UcastPkts: x.u32(), MulticastPkts: x.u32(),
		BroadcastPkts: x.u32(), Discards: x.u32()}
	if x.short {
		return VLANCounters{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// IEEE80211Counters is the ieee80211_counters record (dot11 counters).
type IEEE80211Counters struct {
	TransmittedFragmentCount, MulticastTransmittedFrameCount, FailedCount uint32
	RetryCount, MultipleRetryCount, FrameDuplicateCount                   uint32
	RTSSuccessCount, RTSFailureCount, ACKFailureCount                     uint32
	ReceivedFragmentCount, MulticastReceivedFrameCount, FCSErrorCount     uint32
	TransmittedFrameCount, WEPUndecryptableCount                          uint32
	QoSDiscardedFragmentCount, AssociatedStationCount                     uint32
	QoSCFPollsReceivedCount, QoSCFPollsUnusedCount                        uint32
	QoSCFPollsUnusableCount, QoSCFPollsLostCount                          uint32
}

// IEEE80211Counters decodes an ieee80211_counters record.
func (r Record) IEEE80211Counters() (IEEE80211Counters, error) { return uint32s[IEEE80211Counters](r) }

// LAGCounters is the lag_port_stats record (IEEE8023-LAG-MIB).
type LAGCounters struct {
	ActorSystemID, PartnerSystemID flow.MAC
	AttachedAggID                  uint32
	// The LACP port states: actor admin, actor oper, partner admin, partner oper.
	ActorAdminState, ActorOperState, PartnerAdminState, PartnerOperState uint8
	LACPDUsRx, MarkerPDUsRx, MarkerResponsePDUsRx, UnknownRx, IllegalRx  uint32
	LACPDUsTx, MarkerPDUsTx, MarkerResponsePDUsTx                        uint32
}

// LAGCounters decodes a lag_port_stats record. The two system IDs are MACs padded to 8
// bytes each.
func (r Record) LAGCounters() (LAGCounters, error) {
	x := xdr{b: r.Data}
	c := LAGCounters{ActorSystemID: x.mac(), PartnerSystemID: x.mac(), AttachedAggID: x.u32()}
	st := x.u32()
	c.ActorAdminState, c.ActorOperState, c.PartnerAdminState, c.PartnerOperState = uint8(st>>24), uint8(st>>16), uint8(st>>8), uint8(st)
	c.LACPDUsRx, c.MarkerPDUsRx, c.MarkerResponsePDUsRx, c.UnknownRx, c.IllegalRx = x.u32(), x.u32(), x.u32(), x.u32(), x.u32()
	c.LACPDUsTx, c.MarkerPDUsTx, c.MarkerResponsePDUsTx = x.u32(), x.u32(), x.u32()
	if x.short {
		return LAGCounters{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// SFPCounters is the sfp record: an optical module and its lanes.
type SFPCounters struct {
	ModuleID      uint32
	TotalLanes    uint32 // lanes in the module
	SupplyVoltage uint32 // millivolts
	Temperature   int32  // thousandths of a degree Celsius
	Lanes         SFPLanes
}

// SFPLanes are the lane structures of an sfp record as on the wire.
type SFPLanes []byte

const sfpLaneLen = 40

// SFPLane is one lane of an optical module.
type SFPLane struct {
	Index                           uint32 // from 1
	TxBiasCurrent                   uint32 // microamps
	TxPower, TxPowerMin, TxPowerMax uint32 // microwatts
	TxWavelength                    uint32 // nanometers
	RxPower, RxPowerMin, RxPowerMax uint32 // microwatts
	RxWavelength                    uint32 // nanometers
}

// Len returns the number of lanes.
func (l SFPLanes) Len() int { return len(l) / sfpLaneLen }

// At returns lane i.
func (l SFPLanes) At(i int) SFPLane {
	v, _ := uint32s[SFPLane](Record{Data: l[i*sfpLaneLen : (i+1)*sfpLaneLen]})
	return v
}

// SFPCounters decodes an sfp record.
func (r Record) SFPCounters() (SFPCounters, error) {
	x := xdr{b: r.Data}
	c := SFPCounters{ModuleID: x.u32(), TotalLanes: x.u32(), SupplyVoltage: x.u32(), Temperature: int32(x.u32())}
	n := x.array(sfpLaneLen)
	if x.short {
		return SFPCounters{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	c.Lanes = SFPLanes(r.Data[x.off : x.off+n*sfpLaneLen])
	return c, nil
}

// ProcessorCounters is the processor record.
type ProcessorCounters struct {
	FiveSecCPU, OneMinCPU, FiveMinCPU uint32 // utilization in hundredths of a percent
	TotalMemory, FreeMemory           uint64 // bytes
}

// ProcessorCounters decodes a processor record.
func (r Record) ProcessorCounters() (ProcessorCounters, error) {
	x := xdr{b: r.Data}
	c := ProcessorCounters{FiveSecCPU: x.u32(), OneMinCPU: x.u32(), FiveMinCPU: x.u32(), TotalMemory: x.u64(), FreeMemory: x.u64()}
	if x.short {
		return ProcessorCounters{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// RadioCounters is the radio_utilization record (milliseconds).
type RadioCounters struct {
	ElapsedTime, OnChannelTime, OnChannelBusyTime uint32
}

// RadioCounters decodes a radio_utilization record.
func (r Record) RadioCounters() (RadioCounters, error) { return uint32s[RadioCounters](r) }

// OpenFlowPort is the of_port record.
type OpenFlowPort struct {
	DatapathID uint64
	PortNo     uint32
}

// OpenFlowPort decodes an of_port record.
func (r Record) OpenFlowPort() (OpenFlowPort, error) {
	x := xdr{b: r.Data}
	c := OpenFlowPort{DatapathID: x.u64(), PortNo: x.u32()}
	if x.short {
		return OpenFlowPort{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// PortName decodes a port_name record: the interface's name (ifName). Some agents pad the
// name with NUL bytes inside its length; they are not part of the name and are dropped.
func (r Record) PortName() ([]byte, error) {
	name, err := r.Text()
	for len(name) > 0 && name[len(name)-1] == 0 {
		name = name[:len(name)-1]
	}
	return name, err
}

// HostDescr is the host_descr record.
type HostDescr struct {
	Hostname    []byte
	UUID        [16]byte
	MachineType uint32 // 0 unknown, 1 other, 2 x86, 3 x86_64, …, 10 arm
	OSName      uint32 // 0 unknown, 1 other, 2 Linux, 3 Windows, …
	OSRelease   []byte
}

// HostDescr decodes a host_descr record.
func (r Record) HostDescr() (HostDescr, error) {
	x := xdr{b: r.Data}
	h := HostDescr{Hostname: x.opaque()}
	if u := x.fixed(16); u != nil {
		h.UUID = [16]byte(u)
	}
	h.MachineType, h.OSName, h.OSRelease = x.u32(), x.u32(), x.opaque()
	if x.short {
		return HostDescr{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return h, nil
}

// HostAdapters are the adapters of a host_adapters record, as on the wire.
type HostAdapters []byte

// HostAdapter is one network adapter of a host.
type HostAdapter struct {
	IfIndex uint32
	MACs    MACs
}

// MACs is an array of MAC addresses as on the wire, each padded to 8 bytes.
type MACs []byte

// Len returns the number of addresses.
func (m MACs) Len() int { return len(m) / 8 }

// At returns address i.
func (m MACs) At(i int) flow.MAC { return flow.MAC(m[8*i : 8*i+6]) }

// Append appends the adapters to dst.
func (h HostAdapters) Append(dst []HostAdapter) []HostAdapter {
	x := xdr{b: h}
	for x.off < len(h) {
		idx := x.u32()
		n := x.array(8)
		if x.short {
			break // checked at decode
		}
		dst = append(dst, HostAdapter{IfIndex: idx, MACs: MACs(h[x.off : x.off+8*n])})
		x.off += 8 * n
	}
	return dst
}

// HostAdapters decodes a host_adapters record.
func (r Record) HostAdapters() (HostAdapters, error) {
	x := xdr{b: r.Data}
	n := x.array(8)
	start := x.off
	for i := 0; i < n && !x.short; i++ {
		x.u32()
		m := x.array(8)
		x.off += 8 * m
	}
	if x.short {
		return nil, recordError(r.Format, r.Offset, len(r.Data))
	}
	return HostAdapters(r.Data[start:x.off]), nil
}

// HostParent is the host_parent record: the data source of the container of a host.
type HostParent struct {
	ContainerType, ContainerIndex uint32
}

// HostParent decodes a host_parent record.
func (r Record) HostParent() (HostParent, error) { return uint32s[HostParent](r) }

// HostCPU is the host_cpu record. Times are in milliseconds.
type HostCPU struct {
	LoadOne, LoadFive, LoadFifteen               float32
	ProcRun, ProcTotal, CPUNum, CPUSpeed, Uptime uint32 // CPUSpeed in MHz, Uptime in seconds
	User, Nice, System, Idle, WIO, Intr, SIntr   uint32
	Interrupts, Contexts                         uint32
	Steal, Guest, GuestNice                      uint32 // absent from early agents: 0
}

// HostCPU decodes a host_cpu record. Agents that predate the steal and guest counters
// send a shorter record; those fields are then 0.
func (r Record) HostCPU() (HostCPU, error) {
	x := xdr{b: r.Data}
	c := HostCPU{LoadOne: x.f32(), LoadFive: x.f32(), LoadFifteen: x.f32(),
		ProcRun: x.u32(), ProcTotal: x.u32(), CPUNum: x.u32(), CPUSpeed: x.u32(), Uptime: x.u32(),
		User: x.u32(), Nice: x.u32(), System: x.u32(), Idle: x.u32(), WIO: x.u32(), Intr: x.u32(), SIntr: x.u32(),
		Interrupts: x.u32(), Contexts: x.u32()}
	if x.short {
		return HostCPU{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	if len(r.Data)-x.off >= 12 {
		c.Steal, c.Guest, c.GuestNice = x.u32(), x.u32(), x.u32()
	}
	return c, nil
}

// HostMemory is the host_memory record (bytes, and page and swap counts).
type HostMemory struct {
	Total, Free, Shared, Buffers, Cached, SwapTotal, SwapFree uint64
	PageIn, PageOut, SwapIn, SwapOut                          uint32
}

// HostMemory decodes a host_memory record.
func (r Record) HostMemory() (HostMemory, error) {
	x := xdr{b: r.Data}
	c := HostMemory{Total: x.u64(), Free: x.u64(), Shared: x.u64(), Buffers: x.u64(), Cached: x.u64(),
		SwapTotal: x.u64(), SwapFree: x.u64(), PageIn: x.u32(), PageOut: x.u32(), SwapIn: x.u32(), SwapOut: x.u32()}
	if x.short {
		return HostMemory{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// HostDiskIO is the host_disk_io record.
type HostDiskIO struct {
	Total, Free  uint64
	PartMaxUsed  uint32 // hundredths of a percent
	Reads        uint32
	BytesRead    uint64
	ReadTime     uint32 // ms
	Writes       uint32
	BytesWritten uint64
	WriteTime    uint32 // ms
}

// HostDiskIO decodes a host_disk_io record.
func (r Record) HostDiskIO() (HostDiskIO, error) {
	x := xdr{b: r.Data}
	c := HostDiskIO{Total: x.u64(), Free: x.u64(), PartMaxUsed: x.u32(), Reads: x.u32(), BytesRead: x.u64(),
		ReadTime: x.u32(), Writes: x.u32(), BytesWritten: x.u64(), WriteTime: x.u32()}
	if x.short {
		return HostDiskIO{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// NetIO is the host_net_io and virt_net_io record.
type NetIO struct {
	BytesIn                    uint64
	PktsIn, ErrsIn, DropsIn    uint32
	BytesOut                   uint64
	PktsOut, ErrsOut, DropsOut uint32
}

// NetIO decodes a host_net_io or virt_net_io record.
func (r Record) NetIO() (NetIO, error) {
	x := xdr{b: r.Data}
	c := NetIO{BytesIn: x.u64(), PktsIn: x.u32(), ErrsIn: x.u32(), DropsIn: x.u32(),
		BytesOut: x.u64(), PktsOut: x.u32(), ErrsOut: x.u32(), DropsOut: x.u32()}
	if x.short {
		return NetIO{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// MIB2IP is the mib2_ip_group record (RFC 1213 ip group).
type MIB2IP struct {
	Forwarding, DefaultTTL, InReceives, InHdrErrors, InAddrErrors, ForwDatagrams uint32
	InUnknownProtos, InDiscards, InDelivers, OutRequests, OutDiscards            uint32
	OutNoRoutes, ReasmTimeout, ReasmReqds, ReasmOKs, ReasmFails                  uint32
	FragOKs, FragFails, FragCreates                                              uint32
}

// MIB2IP decodes a mib2_ip_group record.
func (r Record) MIB2IP() (MIB2IP, error) { return uint32s[MIB2IP](r) }

// MIB2ICMP is the mib2_icmp_group record (RFC 1213 icmp group, as sFlow carries it: 25
// counters, without icmpInTimestampReps).
type MIB2ICMP struct {
	InMsgs, InErrors, InDestUnreachs, InTimeExcds, InParamProbs, InSrcQuenchs          uint32
	InRedirects, InEchos, InEchoReps, InTimestamps, InAddrMasks, InAddrMaskReps        uint32
	OutMsgs, OutErrors, OutDestUnreachs, OutTimeExcds, OutParamProbs, OutSrcQuenchs    uint32
	OutRedirects, OutEchos, OutEchoReps, OutTimestamps, OutTimestampReps, OutAddrMasks uint32
	OutAddrMaskReps                                                                    uint32
}

// MIB2ICMP decodes a mib2_icmp_group record.
func (r Record) MIB2ICMP() (MIB2ICMP, error) { return uint32s[MIB2ICMP](r) }

// MIB2TCP is the mib2_tcp_group record (RFC 1213 tcp group, plus tcpInCsumErrors).
type MIB2TCP struct {
	RtoAlgorithm, RtoMin, RtoMax, MaxConn, ActiveOpens, PassiveOpens, AttemptFails uint32
	EstabResets, CurrEstab, InSegs, OutSegs, RetransSegs, InErrs, OutRsts          uint32
	InCsumErrors                                                                   uint32
}

// MIB2TCP decodes a mib2_tcp_group record.
func (r Record) MIB2TCP() (MIB2TCP, error) { return uint32s[MIB2TCP](r) }

// MIB2UDP is the mib2_udp_group record.
type MIB2UDP struct {
	InDatagrams, NoPorts, InErrors, OutDatagrams, RcvbufErrors, SndbufErrors, InCsumErrors uint32
}

// MIB2UDP decodes a mib2_udp_group record.
func (r Record) MIB2UDP() (MIB2UDP, error) { return uint32s[MIB2UDP](r) }

// VirtNode is the virt_node record: a hypervisor.
type VirtNode struct {
	MHz, CPUs          uint32
	Memory, MemoryFree uint64 // bytes
	NumDomains         uint32
}

// VirtNode decodes a virt_node record.
func (r Record) VirtNode() (VirtNode, error) {
	x := xdr{b: r.Data}
	c := VirtNode{MHz: x.u32(), CPUs: x.u32(), Memory: x.u64(), MemoryFree: x.u64(), NumDomains: x.u32()}
	if x.short {
		return VirtNode{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// VirtCPU is the virt_cpu record: a virtual machine's CPU.
type VirtCPU struct {
	State     uint32 // libvirt virDomainState: 1 running, 3 paused, 5 shut off, …
	CPUTime   uint32 // ms
	NrVirtCPU uint32
}

// VirtCPU decodes a virt_cpu record.
func (r Record) VirtCPU() (VirtCPU, error) { return uint32s[VirtCPU](r) }

// VirtMemory is the virt_memory record (bytes).
type VirtMemory struct {
	Memory, MaxMemory uint64
}

// VirtMemory decodes a virt_memory record.
func (r Record) VirtMemory() (VirtMemory, error) {
	x := xdr{b: r.Data}
	c := VirtMemory{Memory: x.u64(), MaxMemory: x.u64()}
	if x.short {
		return VirtMemory{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// VirtDiskIO is the virt_disk_io record.
type VirtDiskIO struct {
	Capacity, Allocation, Available uint64
	RdReq                           uint32
	RdBytes                         uint64
	WrReq                           uint32
	WrBytes                         uint64
	Errs                            uint32
}

// VirtDiskIO decodes a virt_disk_io record.
func (r Record) VirtDiskIO() (VirtDiskIO, error) {
	x := xdr{b: r.Data}
	c := VirtDiskIO{Capacity: x.u64(), Allocation: x.u64(), Available: x.u64(), RdReq: x.u32(),
		RdBytes: x.u64(), WrReq: x.u32(), WrBytes: x.u64(), Errs: x.u32()}
	if x.short {
		return VirtDiskIO{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// AppOperations is the app_operations record: an application's operation counts by
// status.
type AppOperations struct {
	Application                            []byte
	Success, Other, Timeout, InternalError uint32
	BadRequest, Forbidden, TooLarge        uint32
	NotImplemented, NotFound, Unavailable  uint32
	Unauthorized                           uint32
}

// AppOperations decodes an app_operations record.
func (r Record) AppOperations() (AppOperations, error) {
	x := xdr{b: r.Data}
	c := AppOperations{Application: x.opaque(), Success: x.u32(), Other: x.u32(), Timeout: x.u32(),
		InternalError: x.u32(), BadRequest: x.u32(), Forbidden: x.u32(), TooLarge: x.u32(),
		NotImplemented: x.u32(), NotFound: x.u32(), Unavailable: x.u32(), Unauthorized: x.u32()}
	if x.short {
		return AppOperations{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// AppResources is the app_resources record.
type AppResources struct {
	UserTime, SystemTime uint32 // ms
	MemUsed, MemMax      uint64 // bytes
	FDOpen, FDMax        uint32
	ConnOpen, ConnMax    uint32
}

// AppResources decodes an app_resources record.
func (r Record) AppResources() (AppResources, error) {
	x := xdr{b: r.Data}
	c := AppResources{UserTime: x.u32(), SystemTime: x.u32(), MemUsed: x.u64(), MemMax: x.u64(),
		FDOpen: x.u32(), FDMax: x.u32(), ConnOpen: x.u32(), ConnMax: x.u32()}
	if x.short {
		return AppResources{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return c, nil
}

// AppWorkers is the app_workers record.
type AppWorkers struct {
	Active, Idle, Max, ReqDelayed, ReqDropped uint32
}

// AppWorkers decodes an app_workers record.
func (r Record) AppWorkers() (AppWorkers, error) { return uint32s[AppWorkers](r) }

// OVSDP is the ovs_dp_stats record: an Open vSwitch datapath's flow-table statistics.
type OVSDP struct {
	Hits, Missed, Lost, MaskHits, Flows, Masks uint32
}

// OVSDP decodes an ovs_dp_stats record.
func (r Record) OVSDP() (OVSDP, error) { return uint32s[OVSDP](r) }
