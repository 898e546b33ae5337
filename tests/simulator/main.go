// Command fpssim is the vCenter simulator the predictive.mirroring tests and
// demo run against: govmomi's simulator (Debian golang-github-vmware-govmomi-dev)
// with a fleet in several datacenters, served over https (own self-signed
// certificate, written out so clients can verify it) and plain http, plus a
// small JSON control API to set performance series, post events and fail
// entities.
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/event"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// realtimeSamples is what a real vCenter keeps at the 20 s interval: one hour.
const realtimeSamples = 180

// perfManager wraps the simulator's PerformanceManager (as govmomi's
// example_extend_test.go wraps a VM): entities with a series set through the
// control API return it; the others keep govmomi's canned data. Samples are
// returned oldest first, as vCenter does.
type perfManager struct {
	*simulator.PerformanceManager

	mu      sync.RWMutex
	series  map[string]map[int32][]int64           // moid -> counter key -> values, oldest first (realtime)
	history map[string]map[int32]map[int32][]int64 // moid -> interval -> counter key -> values, oldest first
	gaps    map[string]map[int32]bool              // moid -> counter keys vCenter has no realtime data for
	counter map[string]int32                       // "cpu.usage.average" -> key
}

// historicalKeep is how many samples a vCenter keeps per historical interval
// (statistics levels' defaults): 5 min for a day, 30 min for a week, 2 h for
// a month, a day for a year.
var historicalKeep = map[int32]int{300: 288, 1800: 336, 7200: 360, 86400: 365}

// keepZeros answers realtime CSV queries with their zero samples, as vCenter
// does (the normal form's XML encoding here drops them). On by default;
// -zeros=false gives the old, lossy answers. Historical rollups always keep
// their zeros.
var keepZeros bool

func newPerfManager(pm *simulator.PerformanceManager) *perfManager {
	p := &perfManager{PerformanceManager: pm, series: map[string]map[int32][]int64{},
		history: map[string]map[int32]map[int32][]int64{}, gaps: map[string]map[int32]bool{}, counter: map[string]int32{}}
	for _, c := range pm.PerfCounter {
		name := fmt.Sprintf("%s.%s.%s", c.GroupInfo.GetElementDescription().Key, c.NameInfo.GetElementDescription().Key, c.RollupType)
		p.counter[name] = c.Key
	}
	return p
}

// Get lets the PropertyCollector see through the wrapper to the mo type.
func (p *perfManager) Get() mo.Reference { return p.PerformanceManager }

func (p *perfManager) QueryPerf(ctx *simulator.Context, req *types.QueryPerf) soap.HasFault {
	for i := range req.QuerySpec {
		most := int32(realtimeSamples)
		if keep, ok := historicalKeep[req.QuerySpec[i].IntervalId]; ok {
			most = int32(keep) // what vCenter keeps at that interval
		}
		if req.QuerySpec[i].MaxSample <= 0 || req.QuerySpec[i].MaxSample > most {
			req.QuerySpec[i].MaxSample = most
		}
	}
	res := p.PerformanceManager.QueryPerf(ctx, req)
	body, ok := res.(*methods.QueryPerfBody)
	if !ok || body.Fault_ != nil || body.Res == nil {
		return res
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	for i, qs := range req.QuerySpec {
		em, ok := body.Res.Returnval[i].(*types.PerfEntityMetric)
		if !ok {
			continue
		}
		keep, historical := historicalKeep[qs.IntervalId]
		rollup := p.history[qs.Entity.Value][qs.IntervalId]
		if historical && rollup != nil {
			em = historicalMetric(qs, rollup, keep, time.Now().UTC())
		} else if historical {
			// no rollup set through the control API: vCenter keeps no history for
			// this entity (a new VM, or a statistics level that does not keep it)
			em.SampleInfo, em.Value = nil, nil
		} else {
			reverseSamples(em)
			alignSamples(em)
			if gaps := p.gaps[qs.Entity.Value]; len(gaps) > 0 {
				kept := em.Value[:0]
				for _, v := range em.Value {
					if s, ok := v.(*types.PerfMetricIntSeries); !ok || !gaps[s.Id.CounterId] {
						kept = append(kept, v)
					}
				}
				em.Value = kept
			}
			if set := p.series[qs.Entity.Value]; set != nil {
				n := len(em.SampleInfo)
				for _, v := range em.Value {
					s, ok := v.(*types.PerfMetricIntSeries)
					if !ok {
						continue
					}
					if vals, ok := set[s.Id.CounterId]; ok {
						s.Value = lastN(vals, n)
					}
				}
			}
		}
		body.Res.Returnval[i] = em
		if qs.Format == string(types.PerfFormatCsv) && ((historical && rollup != nil) || keepZeros) {
			// vCenter's compact form; it also keeps zero samples, which the normal
			// form's XML encoding here (omitempty per element) drops
			body.Res.Returnval[i] = csvMetric(em)
		}
	}
	return body
}

// historicalMetric answers a historical-interval query from a series set
// through the control API: samples on interval boundaries ending at the last
// whole interval, at most `keep` of them (what vCenter keeps), after startTime
// and up to endTime, the newest maxSample.
func historicalMetric(qs types.PerfQuerySpec, set map[int32][]int64, keep int, now time.Time) *types.PerfEntityMetric {
	step := time.Duration(qs.IntervalId) * time.Second
	last := now.Truncate(step)
	n := 0
	for _, vals := range set {
		if len(vals) > n {
			n = len(vals)
		}
	}
	if n > keep {
		n = keep
	}
	var idx []int // positions 0..n-1, oldest first, that the query selects
	for i := 0; i < n; i++ {
		t := last.Add(-time.Duration(n-1-i) * step)
		if qs.StartTime != nil && !t.After(*qs.StartTime) {
			continue
		}
		if qs.EndTime != nil && t.After(*qs.EndTime) {
			continue
		}
		idx = append(idx, i)
	}
	if qs.MaxSample > 0 && len(idx) > int(qs.MaxSample) {
		idx = idx[len(idx)-int(qs.MaxSample):]
	}
	em := &types.PerfEntityMetric{PerfEntityMetricBase: types.PerfEntityMetricBase{Entity: qs.Entity}}
	for _, i := range idx {
		em.SampleInfo = append(em.SampleInfo, types.PerfSampleInfo{Timestamp: last.Add(-time.Duration(n-1-i) * step),
			Interval: qs.IntervalId})
	}
	wanted := qs.MetricId
	if len(wanted) == 0 {
		for key := range set {
			wanted = append(wanted, types.PerfMetricId{CounterId: key})
		}
		sort.Slice(wanted, func(a, b int) bool { return wanted[a].CounterId < wanted[b].CounterId })
	}
	for _, id := range wanted {
		vals, ok := set[id.CounterId]
		if !ok || len(idx) == 0 {
			continue // vCenter has no data for that counter: it is left out, not zero
		}
		full := lastN(vals, n)
		series := &types.PerfMetricIntSeries{PerfMetricSeries: types.PerfMetricSeries{Id: id}}
		for _, i := range idx {
			series.Value = append(series.Value, full[i])
		}
		em.Value = append(em.Value, series)
	}
	return em
}

// csvMetric is em in vCenter's CSV form ("interval,timestamp,..." and "v,v,...").
func csvMetric(em *types.PerfEntityMetric) *types.PerfEntityMetricCSV {
	parts := make([]string, 0, 2*len(em.SampleInfo))
	for _, si := range em.SampleInfo {
		parts = append(parts, strconv.Itoa(int(si.Interval)), si.Timestamp.UTC().Format(time.RFC3339))
	}
	out := &types.PerfEntityMetricCSV{PerfEntityMetricBase: em.PerfEntityMetricBase, SampleInfoCSV: strings.Join(parts, ",")}
	for _, v := range em.Value {
		s, ok := v.(*types.PerfMetricIntSeries)
		if !ok {
			continue
		}
		vals := make([]string, len(s.Value))
		for i, x := range s.Value {
			vals[i] = strconv.FormatInt(x, 10)
		}
		out.Value = append(out.Value, types.PerfMetricSeriesCSV{PerfMetricSeries: s.PerfMetricSeries, Value: strings.Join(vals, ",")})
	}
	return out
}

// reverseSamples puts the canned series (newest first) into vCenter's order.
func reverseSamples(em *types.PerfEntityMetric) {
	si := em.SampleInfo
	for a, b := 0, len(si)-1; a < b; a, b = a+1, b-1 {
		si[a], si[b] = si[b], si[a]
	}
	for _, v := range em.Value {
		if s, ok := v.(*types.PerfMetricIntSeries); ok {
			x := s.Value
			for a, b := 0, len(x)-1; a < b; a, b = a+1, b-1 {
				x[a], x[b] = x[b], x[a]
			}
		}
	}
}

// alignSamples puts timestamps on interval boundaries, as vCenter's are, so
// that the same sample keeps the same timestamp from one query to the next.
func alignSamples(em *types.PerfEntityMetric) {
	n := len(em.SampleInfo)
	if n == 0 {
		return
	}
	interval := time.Duration(em.SampleInfo[n-1].Interval) * time.Second
	if interval <= 0 {
		return
	}
	last := em.SampleInfo[n-1].Timestamp.Truncate(interval)
	for i := range em.SampleInfo {
		em.SampleInfo[i].Timestamp = last.Add(-time.Duration(n-1-i) * interval)
	}
}

// lastN returns the newest n values; a shorter series is held at its first
// value before it starts, so values and timestamps stay aligned.
func lastN(vals []int64, n int) []int64 {
	out := make([]int64, n)
	if len(vals) == 0 {
		return out
	}
	for i := 0; i < n; i++ {
		j := len(vals) - n + i
		if j < 0 {
			j = 0
		}
		out[i] = vals[j]
	}
	return out
}

type sim struct {
	perf   *perfManager
	client *govmomi.Client
	ctx    context.Context
}

type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func fail(code int, format string, a ...interface{}) error {
	return &apiError{code, fmt.Sprintf(format, a...)}
}

var vmOrHost = []string{"VirtualMachine", "HostSystem"}

// find resolves a VM or host by moid or by name.
func (s *sim) find(id string) (mo.Entity, error) {
	return s.findOf(id, vmOrHost)
}

// findOf resolves an entity of one of kinds by moid or by name.
func (s *sim) findOf(id string, kinds []string) (mo.Entity, error) {
	what := strings.Join(kinds, " or ")
	if id == "" {
		return nil, fail(400, "missing entity (a %s name or moid)", what)
	}
	for _, kind := range kinds {
		if obj := simulator.Map.Get(types.ManagedObjectReference{Type: kind, Value: id}); obj != nil {
			return obj.(mo.Entity), nil
		}
	}
	var found []mo.Entity
	for _, kind := range kinds {
		for _, e := range simulator.Map.All(kind) {
			if e.Entity().Name == id {
				found = append(found, e)
			}
		}
	}
	switch len(found) {
	case 0:
		return nil, fail(404, "no %s named or with moid %q", what, id)
	case 1:
		return found[0], nil
	}
	// names are unique per folder, not per vCenter (each datacenter has its own LocalDS_0): never guess
	return nil, fail(409, "%d objects are named %q: give the moid", len(found), id)
}

type perfRequest struct {
	Entity   string             `json:"entity"`
	Counters map[string][]int64 `json:"counters"`
	// Interval: 20 (realtime, the default), or a historical rollup: 300, 1800, 7200 or 86400
	Interval int32 `json:"interval"`
	// Missing: realtime counters vCenter has no data for (a stopped collection, a removed disk)
	Missing []string `json:"missing"`
}

func (s *sim) setPerf(r *perfRequest) (interface{}, error) {
	e, err := s.find(r.Entity)
	if err != nil {
		return nil, err
	}
	if len(r.Counters) == 0 && len(r.Missing) == 0 {
		return nil, fail(400, "no counters given: send {\"counters\": {\"cpu.usage.average\": [..]}} or {\"missing\": [..]}")
	}
	gaps := map[int32]bool{}
	for _, name := range r.Missing {
		key, ok := s.perf.counter[name]
		if !ok {
			return nil, fail(400, "unknown performance counter %q (expected group.name.rollup, e.g. cpu.usage.average)", name)
		}
		if _, both := r.Counters[name]; both {
			return nil, fail(400, "counter %q is both given and missing", name)
		}
		gaps[key] = true
	}
	set := map[int32][]int64{}
	for name, vals := range r.Counters {
		key, ok := s.perf.counter[name]
		if !ok {
			return nil, fail(400, "unknown performance counter %q (expected group.name.rollup, e.g. cpu.usage.average)", name)
		}
		if len(vals) == 0 {
			return nil, fail(400, "counter %q: empty series", name)
		}
		set[key] = append([]int64(nil), vals...)
	}
	moid := e.Reference().Value
	if r.Interval != 0 && r.Interval != 20 {
		if _, ok := historicalKeep[r.Interval]; !ok {
			return nil, fail(400, "interval %d: want 20 (realtime) or a historical rollup: 300, 1800, 7200 or 86400", r.Interval)
		}
		s.perf.mu.Lock()
		if s.perf.history[moid] == nil {
			s.perf.history[moid] = map[int32]map[int32][]int64{}
		}
		if s.perf.history[moid][r.Interval] == nil {
			s.perf.history[moid][r.Interval] = map[int32][]int64{}
		}
		for k, v := range set {
			s.perf.history[moid][r.Interval][k] = v
		}
		s.perf.mu.Unlock()
		return map[string]interface{}{"entity": moid, "counters": len(set), "interval": r.Interval}, nil
	}
	s.perf.mu.Lock()
	if s.perf.series[moid] == nil {
		s.perf.series[moid] = map[int32][]int64{}
	}
	if s.perf.gaps[moid] == nil {
		s.perf.gaps[moid] = map[int32]bool{}
	}
	for k, v := range set {
		s.perf.series[moid][k] = v
		delete(s.perf.gaps[moid], k)
	}
	for k := range gaps {
		s.perf.gaps[moid][k] = true
		delete(s.perf.series[moid], k)
	}
	s.perf.mu.Unlock()
	return map[string]interface{}{"entity": moid, "counters": len(set), "missing": len(gaps), "interval": 20}, nil
}

func (s *sim) clearPerf(id string) (interface{}, error) {
	e, err := s.find(id)
	if err != nil {
		return nil, err
	}
	s.perf.mu.Lock()
	delete(s.perf.series, e.Reference().Value)
	delete(s.perf.history, e.Reference().Value)
	delete(s.perf.gaps, e.Reference().Value)
	s.perf.mu.Unlock()
	return map[string]interface{}{"entity": e.Reference().Value, "cleared": true}, nil
}

type eventRequest struct {
	Entity  string `json:"entity"`
	Type    string `json:"type"`
	Message string `json:"message"`
}

// eventArgs fills the entity arguments vCenter sets on an event: the VM, its
// host, compute resource and datacenter, so that queries by any of them match.
func eventArgs(e mo.Entity, ev *types.Event) {
	var hostRef *types.ManagedObjectReference
	switch x := e.(type) {
	case *simulator.Datacenter:
		ev.Datacenter = &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: x.Name}, Datacenter: x.Self}
		return
	case *simulator.ClusterComputeResource:
		ev.ComputeResource = &types.ComputeResourceEventArgument{EntityEventArgument: types.EntityEventArgument{Name: x.Name}, ComputeResource: x.Self}
		ev.Datacenter = datacenterOf(x)
		return
	case *simulator.VirtualMachine:
		ev.Vm = &types.VmEventArgument{EntityEventArgument: types.EntityEventArgument{Name: x.Name}, Vm: x.Self}
		hostRef = x.Runtime.Host
	case *simulator.HostSystem:
		hostRef = &x.Self
	}
	if hostRef == nil {
		return
	}
	h, ok := simulator.Map.Get(*hostRef).(*simulator.HostSystem)
	if !ok {
		return
	}
	ev.Host = &types.HostEventArgument{EntityEventArgument: types.EntityEventArgument{Name: h.Name}, Host: h.Self}
	if h.Parent != nil {
		if cr, ok := simulator.Map.Get(*h.Parent).(mo.Entity); ok {
			ev.ComputeResource = &types.ComputeResourceEventArgument{EntityEventArgument: types.EntityEventArgument{Name: cr.Entity().Name}, ComputeResource: cr.Reference()}
		}
	}
	ev.Datacenter = datacenterOf(h)
}

// datacenterOf walks up the inventory to the entity's datacenter.
func datacenterOf(e mo.Entity) *types.DatacenterEventArgument {
	for e != nil {
		parent := e.Entity().Parent
		if parent == nil {
			return nil
		}
		if dc, ok := simulator.Map.Get(*parent).(*simulator.Datacenter); ok {
			return &types.DatacenterEventArgument{EntityEventArgument: types.EntityEventArgument{Name: dc.Name}, Datacenter: dc.Self}
		}
		next, ok := simulator.Map.Get(*parent).(mo.Entity)
		if !ok {
			return nil
		}
		e = next
	}
	return nil
}

func (s *sim) postEvent(r *eventRequest) (interface{}, error) {
	e, err := s.findOf(r.Entity, []string{"VirtualMachine", "HostSystem", "ClusterComputeResource", "Datacenter"})
	if err != nil {
		return nil, err
	}
	ev, err := newEvent(r.Type)
	if err != nil {
		return nil, err
	}
	base := ev.GetEvent()
	eventArgs(e, base)
	base.FullFormattedMessage = r.Message
	if r.Message == "" {
		base.FullFormattedMessage = fmt.Sprintf("%s on %s", r.Type, e.Entity().Name)
	}
	fillFaults(reflect.ValueOf(ev).Elem(), base.FullFormattedMessage)
	if err := event.NewManager(s.client.Client).PostEvent(s.ctx, ev); err != nil {
		return nil, fail(500, "PostEvent %s on %s: %v", r.Type, e.Entity().Name, err)
	}
	return map[string]interface{}{"entity": e.Reference().Value, "type": r.Type}, nil
}

// newEvent makes any vSphere event type by name through govmomi's type registry.
func newEvent(name string) (types.BaseEvent, error) {
	if name == "" {
		return nil, fail(400, "missing event type (e.g. HostConnectionLostEvent)")
	}
	t, ok := types.TypeFunc()(name)
	if !ok {
		return nil, fail(400, "unknown event type %q", name)
	}
	ev, ok := reflect.New(t).Interface().(types.BaseEvent)
	if !ok || !strings.HasSuffix(name, "Event") {
		return nil, fail(400, "%q is not a vSphere event type", name)
	}
	return ev, nil
}

// fillFaults sets the mandatory LocalizedMethodFault fields some events carry
// (VmFailedToPowerOnEvent.Reason, ...): SOAP clients reject them empty.
func fillFaults(v reflect.Value, msg string) {
	faultType := reflect.TypeOf(types.LocalizedMethodFault{})
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch {
		case f.Type() == faultType:
			f.Set(reflect.ValueOf(types.LocalizedMethodFault{Fault: &types.SystemError{Reason: msg}, LocalizedMessage: msg}))
		case f.Kind() == reflect.Struct && v.Type().Field(i).Anonymous:
			fillFaults(f, msg)
		}
	}
}

type failRequest struct {
	Entity string `json:"entity"`
	// Action: "fail" (VM powered off by the fault / host stops responding) or "recover".
	Action string `json:"action"`
}

func (s *sim) failEntity(r *failRequest) (interface{}, error) {
	e, err := s.find(r.Entity)
	if err != nil {
		return nil, err
	}
	if r.Action == "" {
		r.Action = "fail"
	}
	if r.Action != "fail" && r.Action != "recover" {
		return nil, fail(400, "unknown action %q (fail or recover)", r.Action)
	}
	switch x := e.(type) {
	case *simulator.VirtualMachine:
		vm := object.NewVirtualMachine(s.client.Client, x.Self)
		state, err := vm.PowerState(s.ctx)
		if err != nil {
			return nil, fail(500, "read power state of %s: %v", x.Name, err)
		}
		var task *object.Task
		if r.Action == "fail" && state == types.VirtualMachinePowerStatePoweredOn {
			task, err = vm.PowerOff(s.ctx)
		} else if r.Action == "recover" && state != types.VirtualMachinePowerStatePoweredOn {
			task, err = vm.PowerOn(s.ctx)
		}
		if err == nil && task != nil {
			err = task.Wait(s.ctx)
		}
		if err != nil {
			return nil, fail(500, "%s %s: %v", r.Action, x.Name, err)
		}
		if r.Action == "fail" {
			if _, err := s.postEvent(&eventRequest{Entity: x.Self.Value, Type: "VmGuestOSCrashedEvent", Message: "Simulated failure: " + x.Name + " crashed and lost power"}); err != nil {
				return nil, err
			}
		}
		state, _ = vm.PowerState(s.ctx)
		return map[string]interface{}{"entity": x.Self.Value, "power_state": state}, nil
	case *simulator.HostSystem:
		cs := types.HostSystemConnectionStateNotResponding
		vmcs := types.VirtualMachineConnectionStateDisconnected
		if r.Action == "recover" {
			cs = types.HostSystemConnectionStateConnected
			vmcs = types.VirtualMachineConnectionStateConnected
		}
		simulator.Map.WithLock(x, func() {
			simulator.Map.Update(x, []types.PropertyChange{{Name: "runtime.connectionState", Val: cs}, {Name: "summary.runtime.connectionState", Val: cs}})
		})
		for _, ref := range x.Vm {
			if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok {
				simulator.Map.WithLock(vm, func() {
					simulator.Map.Update(vm, []types.PropertyChange{{Name: "runtime.connectionState", Val: vmcs}, {Name: "summary.runtime.connectionState", Val: vmcs}})
				})
			}
		}
		if r.Action == "fail" {
			if _, err := s.postEvent(&eventRequest{Entity: x.Self.Value, Type: "HostConnectionLostEvent", Message: "Simulated failure: host " + x.Name + " stopped responding"}); err != nil {
				return nil, err
			}
		}
		return map[string]interface{}{"entity": x.Self.Value, "connection_state": cs}, nil
	}
	return nil, fail(400, "%s is neither a VM nor a host", r.Entity)
}

type hostRequest struct {
	Entity string `json:"entity"`
	// OverallStatus: green, yellow, red or gray (a hardware health provider's verdict)
	OverallStatus string `json:"overall_status"`
	// ConnectionState: connected, disconnected or notResponding
	ConnectionState string `json:"connection_state"`
	Maintenance     *bool  `json:"maintenance"`
	// Sensors: the host's hardware sensors as its health provider reports them
	// (runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo); an empty list clears them
	Sensors *[]sensorRequest `json:"sensors"`
}

type sensorRequest struct {
	Name string `json:"name"`
	// Health: green, yellow, red or unknown
	Health string `json:"health"`
	// Type: the sensor's kind as ESXi names it (fan, temperature, power, voltage, memory, storage, ...)
	Type string `json:"type"`
}

var (
	hostStatuses    = map[string]types.ManagedEntityStatus{"green": types.ManagedEntityStatusGreen, "yellow": types.ManagedEntityStatusYellow, "red": types.ManagedEntityStatusRed, "gray": types.ManagedEntityStatusGray}
	sensorHealth    = map[string]string{"green": "Green", "yellow": "Yellow", "red": "Red", "unknown": "Unknown"}
	hostConnections = map[string]types.HostSystemConnectionState{"connected": types.HostSystemConnectionStateConnected, "disconnected": types.HostSystemConnectionStateDisconnected, "notResponding": types.HostSystemConnectionStateNotResponding}
)

// setHost sets a host's overall status, connection state and maintenance mode
// as vCenter would report them, without posting events (POST /events does).
func (s *sim) setHost(r *hostRequest) (interface{}, error) {
	e, err := s.findOf(r.Entity, []string{"HostSystem"})
	if err != nil {
		return nil, err
	}
	host := e.(*simulator.HostSystem)
	var changes []types.PropertyChange
	if r.OverallStatus != "" {
		st, ok := hostStatuses[r.OverallStatus]
		if !ok {
			return nil, fail(400, "overall_status %q: want green, yellow, red or gray", r.OverallStatus)
		}
		changes = append(changes, types.PropertyChange{Name: "overallStatus", Val: st}, types.PropertyChange{Name: "summary.overallStatus", Val: st})
	}
	if r.ConnectionState != "" {
		cs, ok := hostConnections[r.ConnectionState]
		if !ok {
			return nil, fail(400, "connection_state %q: want connected, disconnected or notResponding", r.ConnectionState)
		}
		changes = append(changes, types.PropertyChange{Name: "runtime.connectionState", Val: cs}, types.PropertyChange{Name: "summary.runtime.connectionState", Val: cs})
	}
	if r.Maintenance != nil {
		changes = append(changes, types.PropertyChange{Name: "runtime.inMaintenanceMode", Val: *r.Maintenance}, types.PropertyChange{Name: "summary.runtime.inMaintenanceMode", Val: *r.Maintenance})
	}
	if r.Sensors != nil {
		var sensors []types.HostNumericSensorInfo
		for _, x := range *r.Sensors {
			label, ok := sensorHealth[x.Health]
			if !ok {
				return nil, fail(400, "sensor %q health %q: want green, yellow, red or unknown", x.Name, x.Health)
			}
			if strings.TrimSpace(x.Name) == "" {
				return nil, fail(400, "a sensor without a name")
			}
			if x.Type == "" {
				x.Type = "other"
			}
			sensors = append(sensors, types.HostNumericSensorInfo{Name: x.Name, SensorType: x.Type, BaseUnits: "",
				HealthState: &types.ElementDescription{Key: x.Health, Description: types.Description{Label: label, Summary: label}}})
		}
		changes = append(changes, types.PropertyChange{Name: "runtime.healthSystemRuntime",
			Val: &types.HealthSystemRuntime{SystemHealthInfo: &types.HostSystemHealthInfo{NumericSensorInfo: sensors}}})
	}
	if len(changes) == 0 {
		return nil, fail(400, "nothing to set: give overall_status, connection_state, maintenance or sensors")
	}
	simulator.Map.WithLock(host, func() {
		simulator.Map.Update(host, changes)
	})
	return map[string]interface{}{"entity": host.Self.Value, "overall_status": host.OverallStatus,
		"connection_state": host.Runtime.ConnectionState, "maintenance": host.Runtime.InMaintenanceMode}, nil
}

type alarmRequest struct {
	// Entity: a VM, host or datastore, by name or moid
	Entity string `json:"entity"`
	// Alarm: the alarm definition's name, as vCenter shows it ("Virtual machine disk latency")
	Alarm string `json:"alarm"`
	// Status: red or yellow triggers it on the entity; green clears it (as vCenter does when the condition ends)
	Status string `json:"status"`
}

var (
	alarmsMu     sync.Mutex
	alarmsByName = map[string]types.ManagedObjectReference{}
	alarmStates  = map[string]types.ManagedEntityStatus{"red": types.ManagedEntityStatusRed, "yellow": types.ManagedEntityStatusYellow, "green": types.ManagedEntityStatusGreen}
)

// alarmDefinition returns the Alarm object of that name, made on first use: govmomi's simulator has no
// AlarmManager, so the definition exists only for what a triggered state points at (its info.name).
func alarmDefinition(name string) types.ManagedObjectReference {
	alarmsMu.Lock()
	defer alarmsMu.Unlock()
	if ref, ok := alarmsByName[name]; ok {
		return ref
	}
	a := &mo.Alarm{}
	a.Self = types.ManagedObjectReference{Type: "Alarm", Value: fmt.Sprintf("alarm-%d", len(alarmsByName)+1)}
	a.Info = types.AlarmInfo{AlarmSpec: types.AlarmSpec{Name: name, Enabled: true}, Key: a.Self.Value, Alarm: a.Self}
	simulator.Map.Put(a)
	alarmsByName[name] = a.Self
	return a.Self
}

// setAlarm triggers (red, yellow) or clears (green) an alarm on a VM, host or datastore: the entity's
// triggeredAlarmState, as vCenter reports it, with the time it turned that colour.
func (s *sim) setAlarm(r *alarmRequest) (interface{}, error) {
	e, err := s.findOf(r.Entity, []string{"VirtualMachine", "HostSystem", "Datastore"})
	if err != nil {
		return nil, err
	}
	status, ok := alarmStates[r.Status]
	if !ok {
		return nil, fail(400, "status %q: want red, yellow or green", r.Status)
	}
	if strings.TrimSpace(r.Alarm) == "" {
		return nil, fail(400, "missing alarm (the alarm definition's name)")
	}
	ref := alarmDefinition(r.Alarm)
	var states []types.AlarmState
	simulator.Map.WithLock(e, func() {
		for _, st := range e.Entity().TriggeredAlarmState {
			if st.Alarm != ref {
				states = append(states, st)
			}
		}
		if status != types.ManagedEntityStatusGreen {
			states = append(states, types.AlarmState{Key: ref.Value + "." + e.Reference().Value, Entity: e.Reference(),
				Alarm: ref, OverallStatus: status, Time: time.Now().UTC()})
		}
		simulator.Map.Update(e, []types.PropertyChange{{Name: "triggeredAlarmState", Val: states}})
	})
	return map[string]interface{}{"entity": e.Reference().Value, "alarm": ref.Value, "triggered": len(states)}, nil
}

type vmInfo struct {
	Name       string `json:"name"`
	Moid       string `json:"moid"`
	Host       string `json:"host"`
	PowerState string `json:"power_state"`
}

func (s *sim) listVMs() (interface{}, error) {
	var out []vmInfo
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		host := ""
		if vm.Runtime.Host != nil {
			if h, ok := simulator.Map.Get(*vm.Runtime.Host).(*simulator.HostSystem); ok {
				host = h.Name
			}
		}
		out = append(out, vmInfo{vm.Name, vm.Self.Value, host, string(vm.Runtime.PowerState)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *sim) handler() http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v interface{}, err error) {
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			code := 500
			if ae, ok := err.(*apiError); ok {
				code = ae.code
			}
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(v)
	}
	decode := func(r *http.Request, v interface{}) error {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			return fail(400, "bad JSON body: %v", err)
		}
		return nil
	}
	method := func(m string, f func(w http.ResponseWriter, r *http.Request)) func(http.ResponseWriter, *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != m {
				reply(w, nil, fail(405, "%s wants %s", r.URL.Path, m))
				return
			}
			f(w, r)
		}
	}
	mux.HandleFunc("/health", method("GET", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]bool{"ok": true}, nil)
	}))
	mux.HandleFunc("/vms", method("GET", func(w http.ResponseWriter, r *http.Request) {
		v, err := s.listVMs()
		reply(w, v, err)
	}))
	mux.HandleFunc("/perf", func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case "PUT", "POST":
			var req perfRequest
			if err := decode(r, &req); err != nil {
				reply(w, nil, err)
				return
			}
			v, err := s.setPerf(&req)
			reply(w, v, err)
		case "DELETE":
			v, err := s.clearPerf(r.URL.Query().Get("entity"))
			reply(w, v, err)
		default:
			reply(w, nil, fail(405, "/perf wants PUT or DELETE"))
		}
	})
	mux.HandleFunc("/events", method("POST", post(decode, reply, s.postEvent)))
	mux.HandleFunc("/calls", method("GET", func(w http.ResponseWriter, r *http.Request) {
		clones.mu.Lock()
		out := append([]cloneCall{}, clones.calls...)
		clones.mu.Unlock()
		reply(w, map[string]interface{}{"CloneVM_Task": out}, nil)
	}))
	mux.HandleFunc("/faults", method("POST", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Method  string `json:"method"`
			Entity  string `json:"entity"`
			Message string `json:"message"`
			Clear   bool   `json:"clear"`
		}
		if err := decode(r, &req); err != nil {
			reply(w, nil, err)
			return
		}
		if req.Method != "CloneVM_Task" && req.Method != "ReconfigVM_Task" && req.Method != "PowerOnVM_Task" &&
			req.Method != "Rename_Task" && req.Method != "Destroy_Task" {
			reply(w, nil, fail(400, "method %q: only CloneVM_Task, ReconfigVM_Task, PowerOnVM_Task, Rename_Task and "+
				"Destroy_Task faults can be injected", req.Method))
			return
		}
		e, err := s.findOf(req.Entity, []string{"VirtualMachine"})
		if err != nil {
			reply(w, nil, err)
			return
		}
		if req.Message == "" {
			req.Message = "injected fault: " + req.Method + " of " + e.Entity().Name + " failed"
		}
		key := e.Reference().Value
		if req.Method != "CloneVM_Task" {
			key = req.Method + "/" + key
		}
		clones.mu.Lock()
		if req.Clear {
			delete(clones.faults, key)
		} else {
			clones.faults[key] = req.Message
		}
		clones.mu.Unlock()
		reply(w, map[string]interface{}{"entity": e.Reference().Value, "method": req.Method, "cleared": req.Clear}, nil)
	}))
	mux.HandleFunc("/host", method("POST", post(decode, reply, s.setHost)))
	mux.HandleFunc("/alarm", method("POST", post(decode, reply, s.setAlarm)))
	mux.HandleFunc("/fail", method("POST", post(decode, reply, s.failEntity)))
	return mux
}

// post is a control API call that takes one JSON body (unknown fields refused) and replies with what do returns.
func post[T any](decode func(*http.Request, interface{}) error, reply func(http.ResponseWriter, interface{}, error),
	do func(*T) (interface{}, error)) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		var req T
		if err := decode(r, &req); err != nil {
			reply(w, nil, err)
			return
		}
		v, err := do(&req)
		reply(w, v, err)
	}
}

// selfSignedCert makes a certificate for the loopback addresses, so clients
// can verify TLS against the PEM file it is written to.
func selfSignedCert() (tls.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "fpssim", Organization: []string{"predictive.mirroring test vCenter"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	return cert, certPEM, err
}

// listen binds an address now, so a port already taken is reported plainly.
func listen(what, addr string) net.Listener {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fpssim: cannot listen for %s on %s: %v\n", what, addr, err)
		os.Exit(2)
	}
	return l
}

func parseDelays(spec string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(spec, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		kv := strings.SplitN(part, "=", 2)
		if len(kv) != 2 {
			return nil, fmt.Errorf("%q is not Method=ms", part)
		}
		ms, err := strconv.Atoi(kv[1])
		if err != nil || ms < 0 {
			return nil, fmt.Errorf("%q: the delay must be milliseconds >= 0", part)
		}
		out[kv[0]] = ms
	}
	return out, nil
}

// nameGuard refuses CloneVM_Task into a folder that already holds a VM of
// that name, or one a clone in flight is about to take, with vCenter's
// DuplicateName fault. (vCenter reports it as the task's error; here it is
// the call's fault: clients must handle both.)
type nameGuard struct {
	next     http.Handler
	mu       *sync.Mutex
	reserved map[string]time.Time // folder moid + "/" + name -> when a clone took it
}

// callLog records when each CloneVM_Task call arrived and was answered, so a
// test can see how many were in flight at once; faults makes the calls on
// chosen source VMs fail (a fault vCenter cannot be asked for on demand).
type callLog struct {
	mu     sync.Mutex
	calls  []cloneCall
	faults map[string]string // source VM moid (clones) or "<method>/<moid>" -> message
}

type cloneCall struct {
	Source string    `json:"source"`
	Name   string    `json:"name"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	Failed bool      `json:"failed"`
}

var clones = &callLog{faults: map[string]string{}}

var (
	cloneThis   = regexp.MustCompile(`<_this[^>]*>([^<]+)</_this>`)
	cloneMethod = regexp.MustCompile(`<CloneVM_Task[ >]`)
	anyMethod   = regexp.MustCompile(`<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)[\s>/]`)
	cloneFolder = regexp.MustCompile(`<folder[^>]*>([^<]+)</folder>`)
	cloneName   = regexp.MustCompile(`</folder>\s*<name[^>]*>([^<]*)</name>`)
)

func (g *nameGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.Body == nil {
		g.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if m, this := anyMethod.FindSubmatch(body), cloneThis.FindSubmatch(body); m != nil && this != nil {
		clones.mu.Lock()
		injected, inject := clones.faults[string(m[1])+"/"+string(this[1])]
		clones.mu.Unlock()
		if inject {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, systemErrorFault, html.EscapeString(injected), html.EscapeString(injected))
			return
		}
	}
	if m, this := anyMethod.FindSubmatch(body), cloneThis.FindSubmatch(body); m != nil && this != nil &&
		string(m[1]) == "Rename_Task" {
		// a VM renamed before the reservation's watcher saw it must not keep its old name reserved
		ref := types.ManagedObjectReference{Type: "VirtualMachine", Value: string(this[1])}
		if vm, ok := simulator.Map.Get(ref).(*simulator.VirtualMachine); ok && vm.Parent != nil {
			g.mu.Lock()
			delete(g.reserved, vm.Parent.Value+"/"+vm.Name)
			g.mu.Unlock()
		}
	}
	if !cloneMethod.Match(body) {
		g.next.ServeHTTP(w, r)
		return
	}
	call := cloneCall{Start: time.Now().UTC()}
	if m := cloneThis.FindSubmatch(body); m != nil {
		call.Source = string(m[1])
	}
	f, n := cloneFolder.FindSubmatch(body), cloneName.FindSubmatch(body)
	defer func() {
		call.End = time.Now().UTC()
		clones.mu.Lock()
		clones.calls = append(clones.calls, call)
		clones.mu.Unlock()
	}()
	clones.mu.Lock()
	injected, inject := clones.faults[call.Source]
	clones.mu.Unlock()
	if inject {
		call.Failed = true
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, systemErrorFault, html.EscapeString(injected), html.EscapeString(injected))
		return
	}
	if f != nil && n != nil {
		folder, name := string(f[1]), html.UnescapeString(string(n[1]))
		call.Name = name
		if g.taken(folder, name) {
			call.Failed = true
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, duplicateNameFault, html.EscapeString(fmt.Sprintf("The name '%s' already exists.", name)),
				html.EscapeString(name), html.EscapeString(folder))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

const systemErrorFault = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail><SystemErrorFault xmlns="urn:vim25" xsi:type="SystemError"><reason>%s</reason></SystemErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`

// taken says whether folder holds (or a clone in flight will soon hold) a VM
// called name, and reserves the name when it is free.
func (g *nameGuard) taken(folder, name string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := folder + "/" + name
	if obj, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Folder", Value: folder}).(*simulator.Folder); ok {
		for _, child := range obj.ChildEntity {
			if child.Type != "VirtualMachine" {
				continue
			}
			if vm, ok := simulator.Map.Get(child).(*simulator.VirtualMachine); ok && vm.Name == name {
				return true
			}
		}
	}
	if at, ok := g.reserved[key]; ok && time.Since(at) < 2*time.Minute {
		return true
	}
	g.reserved[key] = time.Now()
	// the reservation lasts while the clone runs; the VM itself guards the name after
	go func() {
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			g.mu.Lock()
			found := false
			if obj, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Folder", Value: folder}).(*simulator.Folder); ok {
				for _, child := range obj.ChildEntity {
					if vm, ok := simulator.Map.Get(child).(*simulator.VirtualMachine); ok && vm.Name == name {
						found = true
					}
				}
			}
			if found {
				delete(g.reserved, key)
				g.mu.Unlock()
				return
			}
			g.mu.Unlock()
		}
		g.mu.Lock()
		delete(g.reserved, key)
		g.mu.Unlock()
	}()
	return false
}

const duplicateNameFault = `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail><DuplicateNameFault xmlns="urn:vim25" xsi:type="DuplicateName"><name>%s</name><object type="Folder">%s</object></DuplicateNameFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`

func main() {
	var (
		httpsAddr   = flag.String("listen", "127.0.0.1:0", "address of the https SDK endpoint")
		httpAddr    = flag.String("http-listen", "127.0.0.1:0", "address of the plain http SDK endpoint (empty: none)")
		controlAddr = flag.String("control", "127.0.0.1:0", "address of the JSON control API")
		dc          = flag.Int("dc", 2, "datacenters (DC0 is the primary, DC1 the secondary)")
		clusters    = flag.Int("cluster", 1, "clusters per datacenter")
		hosts       = flag.Int("host", 3, "hosts per cluster")
		vms         = flag.Int("vm", 4, "VMs per cluster resource pool")
		ds          = flag.Int("ds", 1, "datastores")
		// govmomi 0.24 clones a VM with its source NICs before applying the
		// relocate spec, so a NIC on a distributed port group of one
		// datacenter cannot be cloned into another. Without port groups the
		// VMs sit on "VM Network", which every datacenter has.
		portgroups = flag.Int("pg", 0, "distributed port groups per datacenter (VM NICs use the first)")
		user       = flag.String("username", "user", "login user")
		pass       = flag.String("password", "pass", "login password")
		certOut    = flag.String("cert-out", "", "write the TLS certificate (PEM) here")
		stateOut   = flag.String("state-out", "", "write the endpoints (JSON) here once serving")
		// govmomi's DelayConfig: realistic durations for the calls that take
		// minutes on a real vCenter (e.g. -method-delay CloneVM_Task=2000).
		delay       = flag.Int("delay", 0, "milliseconds added to every SOAP call")
		methodDelay = flag.String("method-delay", "", "per-method delays, Method=ms[,Method=ms...]")
		zeros       = flag.Bool("zeros", true, "realtime CSV answers keep zero samples, as vCenter does (-zeros=false drops them)")
	)
	flag.Parse()

	// Bind every port first: a taken port is an error, not a panic.
	httpsL := listen("https SDK", *httpsAddr)
	var httpL net.Listener
	if *httpAddr != "" {
		httpL = listen("http SDK", *httpAddr)
	}
	controlL := listen("control API", *controlAddr)
	httpsHost := httpsL.Addr().String()
	httpsL.Close()

	model := simulator.VPX()
	model.Datacenter = *dc
	model.Cluster = *clusters
	model.ClusterHost = *hosts
	model.Host = 0
	model.Machine = *vms
	model.Datastore = *ds
	model.Portgroup = *portgroups
	keepZeros = *zeros
	delays, err := parseDelays(*methodDelay)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fpssim: -method-delay: %v\n", err)
		os.Exit(2)
	}
	model.DelayConfig = simulator.DelayConfig{Delay: *delay, MethodDelay: delays}
	if err := model.Create(); err != nil {
		fmt.Fprintf(os.Stderr, "fpssim: creating the inventory: %v\n", err)
		os.Exit(1)
	}
	defer model.Remove()

	cert, certPEM, err := selfSignedCert()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fpssim: certificate: %v\n", err)
		os.Exit(1)
	}
	if *certOut != "" {
		if err := os.WriteFile(*certOut, certPEM, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "fpssim: %v\n", err)
			os.Exit(1)
		}
	}

	pm := simulator.Map.Get(*model.ServiceContent.PerfManager).(*simulator.PerformanceManager)
	perf := newPerfManager(pm)
	simulator.Map.Put(perf)

	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	model.Service.Listen = &url.URL{Host: httpsHost, User: url.UserPassword(*user, *pass)}
	server := model.Service.NewServer()
	defer server.Close()
	// vCenter refuses a second VM of the same name in a folder; govmomi 0.24 does not
	names := &nameGuard{next: server.Config.Handler, reserved: map[string]time.Time{}, mu: &sync.Mutex{}}
	server.Config.Handler = names

	sdkHTTP := ""
	if httpL != nil {
		go func() {
			_ = http.Serve(httpL, &nameGuard{next: model.Service.ServeMux, reserved: names.reserved, mu: names.mu})
		}()
		sdkHTTP = "http://" + httpL.Addr().String() + "/sdk"
	}

	ctx := context.Background()
	// The control API acts through the SDK like any client, over plain http
	// when it can, so its events and power operations go through the
	// simulator's own handlers and locks.
	u := *server.URL
	u.User = url.UserPassword(*user, *pass)
	client, err := govmomi.NewClient(ctx, &u, true)
	if err != nil {
		fmt.Fprintf(os.Stderr, "fpssim: control client login: %v\n", err)
		os.Exit(1)
	}
	s := &sim{perf: perf, client: client, ctx: ctx}
	go func() { _ = http.Serve(controlL, s.handler()) }()

	count := model.Count()
	state := map[string]interface{}{
		"sdk_https":   "https://" + httpsHost + "/sdk",
		"sdk_http":    sdkHTTP,
		"control":     "http://" + controlL.Addr().String(),
		"username":    *user,
		"cert":        *certOut,
		"pid":         os.Getpid(),
		"datacenters": count.Datacenter,
		"hosts":       count.Host,
		"vms":         count.Machine,
	}
	blob, _ := json.Marshal(state)
	if *stateOut != "" {
		tmp := *stateOut + ".tmp"
		if err := os.WriteFile(tmp, blob, 0o600); err == nil {
			err = os.Rename(tmp, *stateOut)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "fpssim: %v\n", err)
			os.Exit(1)
		}
	}
	fmt.Println(string(blob))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
}
